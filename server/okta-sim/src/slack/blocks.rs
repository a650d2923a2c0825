//! Block Kit as the stand-in needs it: validation with Slack's documented limits (what makes
//! Slack answer `invalid_blocks`, with its `[ERROR] … [json-pointer:…]` messages), finding a
//! button, and rendering blocks and `mrkdwn` as HTML for the `/__slack` page.

use std::collections::HashSet;

use serde_json::Value;

/// Block types Slack accepts in messages and modals.
const BLOCK_TYPES: &[&str] = &[
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
];

/// Checks blocks against Slack's rules: an array of at most `max` objects, each with a known
/// `type`, unique `block_id`s and `action_id`s, and the documented length limits of the parts
/// the stand-in knows. The error messages are Slack's `response_metadata.messages`.
pub(super) fn validate(blocks: &Value, max: usize) -> Result<(), Vec<String>> {
    let Some(list) = blocks.as_array() else {
        return Err(vec![error("must be an array", "")]);
    };
    let mut errors = Vec::new();
    if list.len() > max {
        errors.push(error(
            &format!("no more than {max} items allowed"),
            "/blocks",
        ));
    }
    let mut block_ids = HashSet::new();
    let mut action_ids = HashSet::new();
    for (i, block) in list.iter().enumerate() {
        let at = format!("/blocks/{i}");
        let Some(kind) = block.get("type").and_then(Value::as_str) else {
            errors.push(error("missing required field: type", &at));
            continue;
        };
        if !BLOCK_TYPES.contains(&kind) {
            errors.push(error(&format!("unsupported type: {kind}"), &at));
            continue;
        }
        if let Some(id) = block.get("block_id") {
            match id.as_str() {
                Some(id) if id.chars().count() > 255 => {
                    errors.push(error("must be less than 256 characters", &at))
                }
                Some(id) if !block_ids.insert(id.to_owned()) => {
                    errors.push(error("duplicate block_id", &format!("{at}/block_id")))
                }
                Some(_) => {}
                None => errors.push(error("must be a string", &format!("{at}/block_id"))),
            }
        }
        match kind {
            "header" => text_object(block, "text", &at, true, Some(150), &mut errors),
            "section" => {
                let has_fields = block.get("fields").is_some();
                if block.get("text").is_some() || !has_fields {
                    text_object(block, "text", &at, false, Some(3000), &mut errors);
                }
                if let Some(fields) = block.get("fields") {
                    match fields.as_array() {
                        Some(f) if f.len() > 10 => errors.push(error(
                            "no more than 10 items allowed",
                            &format!("{at}/fields"),
                        )),
                        Some(f) => {
                            for (j, _) in f.iter().enumerate() {
                                let sub = format!("{at}/fields/{j}");
                                check_text(&f[j], &sub, false, Some(2000), &mut errors);
                            }
                        }
                        None => errors.push(error("must be an array", &format!("{at}/fields"))),
                    }
                }
                if let Some(acc) = block.get("accessory") {
                    element(
                        acc,
                        &format!("{at}/accessory"),
                        &mut action_ids,
                        &mut errors,
                    );
                }
            }
            "context" => match block.get("elements").and_then(Value::as_array) {
                Some(e) if e.is_empty() || e.len() > 10 => errors.push(error(
                    "must have between 1 and 10 items",
                    &format!("{at}/elements"),
                )),
                Some(_) => {}
                None => errors.push(error("missing required field: elements", &at)),
            },
            "actions" => match block.get("elements").and_then(Value::as_array) {
                Some(e) if e.is_empty() || e.len() > 25 => errors.push(error(
                    "must have between 1 and 25 items",
                    &format!("{at}/elements"),
                )),
                Some(e) => {
                    for (j, el) in e.iter().enumerate() {
                        element(
                            el,
                            &format!("{at}/elements/{j}"),
                            &mut action_ids,
                            &mut errors,
                        );
                    }
                }
                None => errors.push(error("missing required field: elements", &at)),
            },
            "input" => {
                text_object(block, "label", &at, true, Some(2000), &mut errors);
                match block.get("element") {
                    Some(el) => element(el, &format!("{at}/element"), &mut action_ids, &mut errors),
                    None => errors.push(error("missing required field: element", &at)),
                }
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn error(message: &str, pointer: &str) -> String {
    if pointer.is_empty() {
        format!("[ERROR] {message}")
    } else {
        format!("[ERROR] {message} [json-pointer:{pointer}]")
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks `parent[field]` as a text object.
fn text_object(
    parent: &Value,
    field: &str,
    at: &str,
    plain_only: bool,
    max: Option<usize>,
    errors: &mut Vec<String>,
) {
    match parent.get(field) {
        Some(t) => check_text(t, &format!("{at}/{field}"), plain_only, max, errors),
        None => errors.push(error(&format!("missing required field: {field}"), at)),
    }
}

fn check_text(t: &Value, at: &str, plain_only: bool, max: Option<usize>, errors: &mut Vec<String>) {
    match t.get("type").and_then(Value::as_str) {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        Some(_) => {
            let allowed = if plain_only {
                "plain_text"
            } else {
                "plain_text, mrkdwn"
            };
            errors.push(error(
                &format!("must be one of [{allowed}]"),
                &format!("{at}/type"),
            ));
            return;
        }
        None => {
            errors.push(error("missing required field: type", at));
            return;
        }
    }
    match t.get("text").and_then(Value::as_str) {
        Some("") => errors.push(error(
            "must be more than 0 characters",
            &format!("{at}/text"),
        )),
        Some(s) if max.is_some_and(|m| chars(s) > m) => errors.push(error(
            &format!("must be less than {} characters", max.unwrap_or(0) + 1),
            &format!("{at}/text"),
        )),
        Some(_) => {}
        None => errors.push(error("missing required field: text", at)),
    }
}

/// Checks an interactive element (buttons in detail; others by `type` and `action_id`).
fn element(el: &Value, at: &str, action_ids: &mut HashSet<String>, errors: &mut Vec<String>) {
    let Some(kind) = el.get("type").and_then(Value::as_str) else {
        errors.push(error("missing required field: type", at));
        return;
    };
    if let Some(id) = el.get("action_id") {
        match id.as_str() {
            Some(id) if chars(id) > 255 => errors.push(error(
                "must be less than 256 characters",
                &format!("{at}/action_id"),
            )),
            Some(id) if !action_ids.insert(id.to_owned()) => {
                errors.push(error("duplicate action_id", &format!("{at}/action_id")))
            }
            Some(_) => {}
            None => errors.push(error("must be a string", &format!("{at}/action_id"))),
        }
    }
    if kind != "button" {
        return;
    }
    text_object(el, "text", at, true, Some(75), errors);
    let limits = [("value", 2000), ("url", 3000)];
    for (field, max) in limits {
        if let Some(v) = el.get(field) {
            match v.as_str() {
                Some(s) if chars(s) > max => errors.push(error(
                    &format!("must be less than {} characters", max + 1),
                    &format!("{at}/{field}"),
                )),
                Some(_) => {}
                None => errors.push(error("must be a string", &format!("{at}/{field}"))),
            }
        }
    }
    if let Some(style) = el.get("style") {
        if !matches!(style.as_str(), Some("primary" | "danger")) {
            errors.push(error(
                "must be one of [primary, danger]",
                &format!("{at}/style"),
            ));
        }
    }
}

/// Gives blocks without a `block_id`, and interactive elements without an `action_id`, a
/// random one, as Slack does when it stores a message or a view.
pub(super) fn fill_ids(blocks: &mut Value) {
    fn action_id(el: &mut Value) {
        if let Some(e) = el.as_object_mut() {
            e.entry("action_id")
                .or_insert_with(|| Value::String(crate::http::random_id("", 5)));
        }
    }
    for block in blocks.as_array_mut().into_iter().flatten() {
        let Some(b) = block.as_object_mut() else {
            continue;
        };
        b.entry("block_id")
            .or_insert_with(|| Value::String(crate::http::random_id("", 5)));
        if b.get("type").and_then(Value::as_str) == Some("actions") {
            if let Some(Value::Array(list)) = b.get_mut("elements") {
                list.iter_mut().for_each(action_id);
            }
        }
        for field in ["accessory", "element"] {
            if let Some(el) = b.get_mut(field) {
                action_id(el);
            }
        }
    }
}

/// The button with `action_id` in `blocks` (in an `actions` block or a section's accessory),
/// with its block's `block_id`.
pub(super) fn find_button<'a>(blocks: &'a Value, action_id: &str) -> Option<(&'a Value, String)> {
    for block in blocks.as_array()? {
        let block_id = block
            .get("block_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut candidates: Vec<&Value> = Vec::new();
        if block["type"] == "actions" {
            candidates.extend(block["elements"].as_array().into_iter().flatten());
        }
        if block["type"] == "section" {
            candidates.extend(block.get("accessory"));
        }
        if let Some(button) = candidates
            .into_iter()
            .find(|e| e["type"] == "button" && e["action_id"] == action_id)
        {
            return Some((button, block_id));
        }
    }
    None
}

/// Escapes text for HTML (elements and attributes).
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Slack's escaped `&amp;`, `&lt;`, `&gt;` back to characters.
fn unescape_slack(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `mrkdwn` as HTML, minimally: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, links
/// `<url|label>` and `<url>`, mentions `<@U…>` and `<#C…>`, line breaks. Everything escaped.
pub(super) fn mrkdwn(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&emphasis(&rest[..start]));
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&emphasis(&rest[start..]));
            rest = "";
            break;
        };
        let inner = &after[..end];
        let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
        if let Some(user) = target.strip_prefix('@') {
            out.push_str(&format!("<b>@{}</b>", escape(user)));
        } else if let Some(channel) = target.strip_prefix('#') {
            out.push_str(&format!("<b>#{}</b>", escape(channel)));
        } else if let Some(special) = target.strip_prefix('!') {
            out.push_str(&format!("<b>@{}</b>", escape(special)));
        } else {
            let url = unescape_slack(target);
            let shown = if label.is_empty() {
                escape(&url)
            } else {
                emphasis(label)
            };
            if ["http://", "https://", "mailto:"]
                .iter()
                .any(|p| url.starts_with(p))
            {
                out.push_str(&format!("<a href=\"{}\">{shown}</a>", escape(&url)));
            } else {
                out.push_str(&shown);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(&emphasis(rest));
    out.replace('\n', "<br>")
}

/// Plain text (Slack-escaped) as HTML with the emphasis marks applied.
fn emphasis(text: &str) -> String {
    let mut html = escape(&unescape_slack(text));
    for (mark, tag) in [('`', "code"), ('*', "b"), ('_', "i"), ('~', "s")] {
        html = wrap(&html, mark, tag);
    }
    html
}

/// Replaces `<mark>text<mark>` (at word boundaries, on one line) with `<tag>text</tag>`.
fn wrap(html: &str, mark: char, tag: &str) -> String {
    let chars: Vec<char> = html.chars().collect();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while i < chars.len() {
        let opens = chars[i] == mark
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
        if opens {
            let close = (i + 2..chars.len()).find(|&j| {
                chars[j] == mark
                    && !chars[j - 1].is_whitespace()
                    && chars.get(j + 1).is_none_or(|c| !c.is_alphanumeric())
            });
            let on_one_line = close.is_some_and(|j| !chars[i + 1..j].contains(&'\n'));
            if let (Some(j), true) = (close, on_one_line) {
                let inner: String = chars[i + 1..j].iter().collect();
                out.push_str(&format!("<{tag}>{inner}</{tag}>"));
                i = j + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A text object as HTML (`mrkdwn` rendered, `plain_text` escaped).
pub(super) fn text(t: &Value) -> String {
    let s = t["text"].as_str().unwrap_or_default();
    if t["type"] == "mrkdwn" {
        mrkdwn(s)
    } else {
        escape(s).replace('\n', "<br>")
    }
}

/// Where a rendered button points: a message's (then buttons post to `/__slack/click`) or
/// nothing (buttons shown disabled).
pub(super) struct ButtonTarget<'a> {
    pub user: &'a str,
    pub channel: &'a str,
    pub ts: &'a str,
}

/// One element (of `actions` or an accessory) as HTML.
fn render_element(el: &Value, target: Option<&ButtonTarget<'_>>) -> String {
    if el["type"] != "button" {
        return format!(
            "<span class=\"unsupported\">[{} not simulated]</span>",
            escape(el["type"].as_str().unwrap_or("element"))
        );
    }
    let label = text(&el["text"]);
    let style = match el["style"].as_str() {
        Some("primary") => "btn primary",
        Some("danger") => "btn danger",
        _ => "btn",
    };
    if let Some(url) = el["url"]
        .as_str()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        return format!("<a class=\"{style}\" href=\"{}\">{label}</a>", escape(url));
    }
    let action_id = el["action_id"].as_str().unwrap_or_default();
    match target {
        Some(t) => format!(
            "<form method=\"post\" action=\"/__slack/click\" class=\"inline\">\
             <input type=\"hidden\" name=\"as\" value=\"{}\">\
             <input type=\"hidden\" name=\"channel\" value=\"{}\">\
             <input type=\"hidden\" name=\"ts\" value=\"{}\">\
             <input type=\"hidden\" name=\"action_id\" value=\"{}\">\
             <button type=\"submit\" class=\"{style}\">{label}</button></form>",
            escape(t.user),
            escape(t.channel),
            escape(t.ts),
            escape(action_id)
        ),
        None => format!("<button type=\"button\" class=\"{style}\" disabled>{label}</button>"),
    }
}

/// Blocks as HTML; `input` blocks are left to the caller (`inputs`).
pub(super) fn render(
    blocks: &Value,
    target: Option<&ButtonTarget<'_>>,
    inputs: &mut dyn FnMut(usize, &Value) -> String,
) -> String {
    let mut out = String::new();
    for (i, block) in blocks.as_array().into_iter().flatten().enumerate() {
        let html = match block["type"].as_str().unwrap_or_default() {
            "header" => format!("<h3>{}</h3>", text(&block["text"])),
            "divider" => "<hr>".to_owned(),
            "section" => {
                let mut s = String::from("<div class=\"section\">");
                if block.get("text").is_some() {
                    s.push_str(&format!("<div>{}</div>", text(&block["text"])));
                }
                if let Some(fields) = block["fields"].as_array() {
                    s.push_str("<div class=\"fields\">");
                    for f in fields {
                        s.push_str(&format!("<div>{}</div>", text(f)));
                    }
                    s.push_str("</div>");
                }
                if let Some(acc) = block.get("accessory") {
                    s.push_str(&format!(
                        "<div class=\"accessory\">{}</div>",
                        render_element(acc, target)
                    ));
                }
                s.push_str("</div>");
                s
            }
            "context" => {
                let parts: Vec<String> = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        if e["type"] == "image" {
                            format!("[{}]", escape(e["alt_text"].as_str().unwrap_or("image")))
                        } else {
                            text(e)
                        }
                    })
                    .collect();
                format!("<div class=\"context\">{}</div>", parts.join(" · "))
            }
            "actions" => {
                let buttons: String = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| render_element(e, target))
                    .collect();
                format!("<div class=\"actions\">{buttons}</div>")
            }
            "input" => inputs(i, block),
            "image" => format!(
                "<div class=\"context\">[image: {}]</div>",
                escape(block["alt_text"].as_str().unwrap_or_default())
            ),
            other => format!(
                "<div class=\"unsupported\">[{} block not simulated]</div>",
                escape(other)
            ),
        };
        out.push_str(&html);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_mrkdwn_minimally_and_escaped() {
        assert_eq!(
            mrkdwn("*Ada* asks for _aws-prod_ <https://gp.example/r/1|open &amp; decide>"),
            "<b>Ada</b> asks for <i>aws-prod</i> <a href=\"https://gp.example/r/1\">open &amp; decide</a>"
        );
        // Not a link: the tag's text stays text; Slack's escapes stay escaped.
        assert_eq!(mrkdwn("<script>&lt;b&gt; a*b*c"), "script&lt;b&gt; a*b*c");
        assert_eq!(mrkdwn("<javascript:alert(1)|x>"), "x");
        assert_eq!(
            mrkdwn("hi <@U123>\n`x_y`"),
            "hi <b>@U123</b><br><code>x_y</code>"
        );
    }

    #[test]
    fn validates_blocks_like_slack() {
        let ok = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Access request"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Ada*"}, "fields": [{"type": "mrkdwn", "text": "a"}]},
            {"type": "actions", "block_id": "decide", "elements": [
                {"type": "button", "action_id": "approve", "style": "primary", "text": {"type": "plain_text", "text": "Approve"}, "value": "r1"},
                {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open"}, "url": "http://127.0.0.1:3000/r/1"}
            ]},
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "via Gatepass"}]}
        ]);
        assert_eq!(validate(&ok, 50), Ok(()));
        assert!(
            find_button(&ok, "approve").is_some_and(|(b, id)| b["value"] == "r1" && id == "decide")
        );
        assert!(find_button(&ok, "nope").is_none());

        let errs = validate(&json!({"type": "divider"}), 50).unwrap_err();
        assert_eq!(errs, vec!["[ERROR] must be an array"]);
        let errs = validate(&json!([{"text": "x"}]), 50).unwrap_err();
        assert_eq!(
            errs,
            vec!["[ERROR] missing required field: type [json-pointer:/blocks/0]"]
        );
        let long = "x".repeat(151);
        let errs = validate(
            &json!([{"type": "header", "text": {"type": "plain_text", "text": long}}]),
            50,
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec!["[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"]
        );
        let many = Value::Array(vec![json!({"type": "divider"}); 51]);
        assert!(validate(&many, 50).is_err());
        let dup = json!([{"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "A"}},
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "B"}}]}]);
        assert!(validate(&dup, 50).unwrap_err()[0].contains("duplicate action_id"));
    }
}
