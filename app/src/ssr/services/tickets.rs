//! Ticket references on requests: a policy may require one matching a pattern (a regular
//! expression the whole reference must match, e.g. `(OPS|SEC)-\d+`) and show it as a link
//! from a URL template (`https://tickets.example.com/browse/{ticket}`). The request keeps the
//! reference and its link as they were when it was made.

use crate::error::AppError;
use crate::model::Policy;

/// Longest reference kept.
pub const MAX_TICKET: usize = 100;
/// Longest pattern or template a policy may hold.
const MAX_RULE: usize = 300;
/// What a compiled pattern may cost (bytes), so a policy cannot make every request slow.
const PATTERN_SIZE_LIMIT: usize = 64 * 1024;

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the pattern is too complex".to_owned(),
            _ => "not a valid regular expression".to_owned(),
        })
}

/// A policy's ticket pattern as typed: `None` when empty; an error naming the field when it
/// is not a regular expression (or too long or complex).
pub fn parse_pattern(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_RULE || text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "Ticket pattern",
            format!("use at most {MAX_RULE} printable characters"),
        ));
    }
    compile(text).map_err(|m| AppError::invalid("Ticket pattern", m))?;
    Ok(Some(text.to_owned()))
}

/// A policy's ticket link template as typed: `None` when empty; it must be an `https://` URL
/// holding `{ticket}` (a link people click: never `javascript:` or plain http).
pub fn parse_url_template(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = |m: &str| Err(AppError::invalid("Ticket link", m.to_owned()));
    if text.chars().count() > MAX_RULE || text.chars().any(char::is_control) {
        return bad("use at most 300 printable characters");
    }
    if !text.contains("{ticket}") {
        return bad("put {ticket} where the reference goes, e.g. https://tickets.example.com/browse/{ticket}");
    }
    match url::Url::parse(&text.replace("{ticket}", "X")) {
        Ok(u)
            if u.scheme() == "https"
                && u.host_str().is_some()
                && u.username().is_empty()
                && u.password().is_none() =>
        {
            Ok(Some(text.to_owned()))
        }
        _ => bad("enter an https:// address without credentials"),
    }
}

/// The ticket a request under `policy` carries, checked: required (and matching) when the
/// policy has a pattern; optional otherwise, but always short and printable. Returns the
/// reference and its link, or `None` when none was given and none is needed.
pub fn ticket_for(
    policy: &Policy,
    text: &str,
) -> Result<Option<(String, Option<String>)>, AppError> {
    let text = text.trim();
    if let Some(pattern) = &policy.ticket_pattern {
        if text.is_empty() {
            return Err(AppError::invalid(
                "Ticket",
                format!("this group needs a ticket reference (matching {pattern})"),
            ));
        }
        let re = compile(pattern).map_err(|_| AppError::Internal)?;
        if !re.is_match(text) {
            return Err(AppError::invalid(
                "Ticket",
                format!("{text:?} is not a ticket reference this group accepts (it must match {pattern})"),
            ));
        }
    }
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_TICKET || text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "Ticket",
            format!("use at most {MAX_TICKET} printable characters"),
        ));
    }
    let link = policy.ticket_url.as_ref().map(|t| {
        let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        t.replace("{ticket}", &encoded)
    });
    Ok(Some((text.to_owned(), link)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pattern: Option<&str>, url: Option<&str>) -> Policy {
        serde_json::from_value(serde_json::json!({
            "id": 1, "target": { "Pattern": "aws-*" }, "requestable": true,
            "eligible_groups": [], "approver_users": [], "approver_groups": [], "quorum": 1,
            "default_duration_secs": 3600, "max_duration_secs": 3600, "require_reason": false,
            "allow_self_approval": false, "auto_approve": false, "updated_at": 0, "updated_by": "x",
            "ticket_pattern": pattern, "ticket_url": url,
        }))
        .unwrap()
    }

    fn field(e: AppError) -> String {
        match e {
            AppError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pattern_is_required_whole_and_the_link_encodes_the_reference() {
        let p = policy(
            Some(r"(OPS|SEC)-\d+"),
            Some("https://t.example.com/browse/{ticket}"),
        );
        assert_eq!(field(ticket_for(&p, " ").unwrap_err()), "Ticket");
        for bad in ["OPS-", "ops-1", "OPS-12x", "xOPS-12", "OPS-1\nSEC-2"] {
            assert_eq!(field(ticket_for(&p, bad).unwrap_err()), "Ticket", "{bad:?}");
        }
        assert_eq!(
            ticket_for(&p, " SEC-42 ").unwrap(),
            Some((
                "SEC-42".into(),
                Some("https://t.example.com/browse/SEC-42".into())
            ))
        );
        let free = policy(None, Some("https://t.example.com/?q={ticket}"));
        assert_eq!(ticket_for(&free, "").unwrap(), None);
        assert_eq!(
            ticket_for(&free, "a b&c=<d>")
                .unwrap()
                .unwrap()
                .1
                .as_deref(),
            Some("https://t.example.com/?q=a+b%26c%3D%3Cd%3E")
        );
        assert_eq!(
            field(ticket_for(&free, &"x".repeat(101)).unwrap_err()),
            "Ticket"
        );
    }

    #[test]
    fn policies_hold_only_sound_patterns_and_https_links() {
        assert_eq!(parse_pattern("  ").unwrap(), None);
        assert_eq!(
            parse_pattern(r"(OPS|SEC)-\d+").unwrap().as_deref(),
            Some(r"(OPS|SEC)-\d+")
        );
        assert_eq!(field(parse_pattern("(OPS").unwrap_err()), "Ticket pattern");
        assert_eq!(
            field(parse_pattern(r"\w{1000}{1000}").unwrap_err()),
            "Ticket pattern"
        );
        assert_eq!(parse_url_template("").unwrap(), None);
        assert!(parse_url_template("https://t.example.com/{ticket}")
            .unwrap()
            .is_some());
        for bad in [
            "javascript:alert(1)//{ticket}",
            "http://t.example.com/{ticket}",
            "https://t.example.com/browse/",
            "https://user:pw@t.example.com/{ticket}",
            "data:text/html,{ticket}",
        ] {
            assert_eq!(
                field(parse_url_template(bad).unwrap_err()),
                "Ticket link",
                "{bad}"
            );
        }
    }
}
