//! Writing audit events for changes that have no transaction of their own.

use crate::error::AppError;
use crate::model::{AuditAction, Timestamp};
use crate::ssr::clock::Clock;
use crate::ssr::db::{audit, Db};

/// Records one event in its own transaction.
pub async fn record(
    db: &Db,
    clock: &dyn Clock,
    actor: &str,
    action: AuditAction,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    audit::insert_audit_event(&mut tx, clock.timestamp(), actor, action, subject, &details).await?;
    tx.commit().await?;
    Ok(())
}

/// One page of the audit log for admins.
pub async fn audit_page(
    db: &Db,
    _admin: &crate::ssr::auth::Admin,
    filter: &crate::model::AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<crate::model::AuditPage, AppError> {
    let limit = limit.clamp(1, 500);
    let events = audit::search_audit_events(db, filter, before, limit + 1).await?;
    let more = events.len() as i64 > limit;
    let events: Vec<_> = events.into_iter().take(limit as usize).collect();
    Ok(crate::model::AuditPage {
        next_before: if more {
            events.last().map(|e| e.seq)
        } else {
            None
        },
        events,
        lines: Vec::new(),
    })
}

/// [`audit_page`] with each event as people read it (the audit log page).
pub async fn readable_page(
    db: &Db,
    admin: &crate::ssr::auth::Admin,
    filter: &crate::model::AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<crate::model::AuditPage, AppError> {
    let mut page = audit_page(db, admin, filter, before, limit).await?;
    page.lines = super::audit_text::readable(db, &page.events).await?;
    Ok(page)
}

/// Longest a follower waits for new events in one call.
pub const FOLLOW_MAX_WAIT_SECS: u64 = 25;

/// Following the log: the events after `after` (oldest first, at most `limit`), waiting up to
/// `wait` for the first to arrive; without `after`, from the newest event now (so a follower
/// sees only what happens next). Returns the events and the cursor of the next call.
pub async fn follow(
    db: &Db,
    _admin: &crate::ssr::auth::Admin,
    after: Option<i64>,
    wait: std::time::Duration,
    limit: i64,
) -> Result<(Vec<crate::model::AuditEvent>, i64), AppError> {
    let after = match after {
        Some(a) => a,
        None => audit::head_seq(db).await?,
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let events = audit::events_after(db, after, limit.clamp(1, 500)).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = events.last().map_or(after, |e| e.seq);
            return Ok((events, next));
        }
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + FOLLOW_POLL)).await;
    }
}

/// How often a waiting follower looks for new events.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Every event matching `filter` (newest first, at most 100,000) as CSV or JSON Lines.
pub async fn export_audit(
    db: &Db,
    admin: &crate::ssr::auth::Admin,
    filter: &crate::model::AuditFilter,
    jsonl: bool,
) -> Result<String, AppError> {
    let mut out = String::new();
    if !jsonl {
        out.push_str("seq,at,actor,action,subject,details\n");
    }
    let mut before = None;
    let mut total = 0;
    loop {
        let page = audit_page(db, admin, filter, before, 500).await?;
        for e in &page.events {
            if jsonl {
                out.push_str(&serde_json::to_string(e).expect("serializable"));
                out.push('\n');
            } else {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    e.seq,
                    crate::format::utc_datetime(e.at),
                    csv_cell(&e.actor),
                    csv_cell(&e.action),
                    csv_cell(&e.subject),
                    csv_cell(&e.details)
                ));
            }
        }
        total += page.events.len();
        match page.next_before {
            Some(b) if total < 100_000 => before = Some(b),
            _ => break,
        }
    }
    Ok(out)
}

/// One quoted CSV cell. A value a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return — e.g. a request reason someone typed) gets a leading
/// `'`, so it is shown as text.
pub fn csv_cell(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

/// Longest text a filter field accepts.
const MAX_FILTER: usize = 200;

/// Builds a filter from form fields; dates are `YYYY-MM-DD` (UTC), `to` inclusive; every text
/// field is bounded.
pub fn parse_filter(
    actor: &str,
    subject: &str,
    action: &str,
    from: &str,
    to: &str,
) -> Result<crate::model::AuditFilter, AppError> {
    let day = |field: &'static str, s: &str| -> Result<Option<Timestamp>, AppError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let format = time::format_description::parse_borrowed::<1>("[year]-[month]-[day]")
            .map_err(|_| AppError::Internal)?;
        let d = time::Date::parse(s, &format)
            .map_err(|_| AppError::invalid(field, "enter a date like 2026-06-01"))?;
        Ok(Some(Timestamp::from(d.midnight().assume_utc())))
    };
    for (field, text) in [("Person", actor), ("Subject", subject), ("Action", action)] {
        if text.chars().count() > MAX_FILTER {
            return Err(AppError::invalid(
                field,
                format!("use at most {MAX_FILTER} characters"),
            ));
        }
    }
    Ok(crate::model::AuditFilter {
        actor: actor.trim().to_owned(),
        subject: subject.trim().to_owned(),
        action: action.trim().to_owned(),
        from: day("From", from)?,
        to: day("To", to)?.map(|t| t.plus_secs(86_400)),
    })
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_neutralised_and_quotes_doubled() {
        assert_eq!(csv_cell("ada"), "\"ada\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        for formula in ["=HYPERLINK(\"x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(formula).starts_with("\"'"), "{formula}");
        }
    }
}
