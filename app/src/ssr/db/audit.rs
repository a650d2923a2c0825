//! `audit_events`: the append-only audit log. Each event carries the hash of the one before,
//! so a changed or deleted row breaks the chain.

use sha2::{Digest, Sha256};

use super::{Db, DbError, Tx};
use crate::model::{AuditAction, AuditEvent, DatabaseEngine, Timestamp};

tokio::task_local! {
    /// How the people acting in the current task reached Gatepass when it was not a browser
    /// session (`token <name>`); every event recorded meanwhile carries it as `via`.
    static VIA: String;
}

/// Runs `work` with every audit event it records attributed to `via` (e.g. `token ci`).
pub async fn recorded_via<F: std::future::Future>(via: String, work: F) -> F::Output {
    VIA.scope(via, work).await
}

/// The chain's starting point.
const GENESIS: &str = "gatepass-audit-v1";

fn chain_hash(
    prev: &str,
    at: Timestamp,
    actor: &str,
    action: &str,
    subject: &str,
    details: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &at.millis().to_string(),
        actor,
        action,
        subject,
        details,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an event inside `tx` (so it commits with the change it records), and queues its
/// deliveries (webhooks, email to the people it concerns) in the same transaction.
pub async fn insert_audit_event(
    tx: &mut Tx,
    at: Timestamp,
    actor: &str,
    action: AuditAction,
    subject: &str,
    details: &serde_json::Value,
) -> Result<(), DbError> {
    let action = action.as_str();
    if tx.engine() == DatabaseEngine::Postgres {
        // One appender at a time, so two events never chain to the same predecessor.
        sqlx::query("SELECT pg_advisory_xact_lock(7061727)")
            .execute(&mut **tx)
            .await?;
    }
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    let with_via;
    let value = match VIA.try_with(Clone::clone) {
        Ok(via) => {
            let mut v = details.clone();
            if let Some(map) = v.as_object_mut() {
                map.insert("via".into(), serde_json::Value::String(via));
            }
            with_via = v;
            &with_via
        }
        Err(_) => details,
    };
    let details = value.to_string();
    let hash = chain_hash(&prev, at, actor, action, subject, &details);
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (at, actor, action, subject, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(&details)
    .bind(&prev)
    .bind(&hash)
    .fetch_one(&mut **tx)
    .await?;
    let event = super::notifications::Event {
        seq,
        action,
        subject,
        actor,
        at,
        details: value,
    };
    super::notifications::queue_for_event(tx, &event).await?;
    Ok(())
}

/// An audit event as its columns are read: seq, at, actor, action, subject, details.
type EventRow = (i64, Timestamp, String, String, String, String);

fn event((seq, at, actor, action, subject, details): EventRow) -> AuditEvent {
    AuditEvent {
        seq,
        at,
        actor,
        action,
        subject,
        details,
    }
}

/// The newest events first, `limit` of them, before `before_seq` when given.
pub async fn list_audit_events(
    db: &Db,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    search_audit_events(db, &crate::model::AuditFilter::default(), before_seq, limit).await
}

/// The oldest `limit` events after `after_seq` (for following the log as it grows).
pub async fn events_after(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>, DbError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT seq, at, actor, action, subject, details FROM audit_events WHERE seq > $1 \
         ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(event).collect())
}

/// The newest event's sequence number (0 when the log is empty).
pub async fn head_seq(db: &Db) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM audit_events")
            .fetch_one(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// One event by its sequence number (a primary-key lookup: the notifier reads one per delivery).
pub async fn find_audit_event(db: &Db, seq: i64) -> Result<Option<AuditEvent>, DbError> {
    let row: Option<EventRow> = sqlx::query_as(
        "SELECT seq, at, actor, action, subject, details FROM audit_events WHERE seq = $1",
    )
    .bind(seq)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(event))
}

/// Events matching `filter`, newest first, older than `before_seq` when given. Only the
/// conditions the filter sets are in the query, so an unfiltered page walks the primary key
/// backwards from `before_seq` instead of scanning the log.
pub async fn search_audit_events(
    db: &Db,
    filter: &crate::model::AuditFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut sql = String::from(
        "SELECT seq, at, actor, action, subject, details FROM audit_events WHERE seq < $1",
    );
    let mut n = 1;
    let mut param = || {
        n += 1;
        format!("${n}")
    };
    let actor = (!filter.actor.trim().is_empty()).then(|| super::contains_pattern(&filter.actor));
    let subject =
        (!filter.subject.trim().is_empty()).then(|| super::contains_pattern(&filter.subject));
    let action = (!filter.action.is_empty()).then(|| super::prefix_pattern(&filter.action));
    if actor.is_some() {
        sql += &format!(" AND LOWER(actor) LIKE {} ESCAPE '\\'", param());
    }
    if subject.is_some() {
        let p = param();
        sql += &format!(
            " AND (LOWER(subject) LIKE {p} ESCAPE '\\' OR LOWER(details) LIKE {p} ESCAPE '\\')"
        );
    }
    if action.is_some() {
        sql += &format!(" AND action LIKE {} ESCAPE '\\'", param());
    }
    if filter.from.is_some() {
        sql += &format!(" AND at >= {}", param());
    }
    if filter.to.is_some() {
        sql += &format!(" AND at < {}", param());
    }
    sql += &format!(" ORDER BY seq DESC LIMIT {}", param());
    let mut query = sqlx::query_as::<_, EventRow>(&sql).bind(before_seq.unwrap_or(i64::MAX));
    for pattern in [actor, subject, action].into_iter().flatten() {
        query = query.bind(pattern);
    }
    for at in [filter.from, filter.to].into_iter().flatten() {
        query = query.bind(at);
    }
    let rows = query.bind(limit).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(event).collect())
}

/// The chain columns (previous hash, hash) of the events `seqs`, in a query per 500.
pub async fn chain_of(
    db: &Db,
    seqs: &[i64],
) -> Result<std::collections::HashMap<i64, (String, String)>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in seqs.chunks(500) {
        let sql = format!(
            "SELECT seq, prev_hash, hash FROM audit_events WHERE seq IN ({})",
            super::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String, String)>(&sql);
        for seq in chunk {
            q = q.bind(*seq);
        }
        for (seq, prev, hash) in q.fetch_all(db.pool()).await? {
            out.insert(seq, (prev, hash));
        }
    }
    Ok(out)
}

/// The latest event about `subject` before `seq` (a policy's previous version), if any.
pub async fn previous_about(
    db: &Db,
    subject: &str,
    seq: i64,
) -> Result<Option<AuditEvent>, DbError> {
    let row: Option<EventRow> = sqlx::query_as(
        "SELECT seq, at, actor, action, subject, details FROM audit_events \
         WHERE subject = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(subject)
    .bind(seq)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(event))
}

/// The events whose subject is one of `subjects` (exactly), oldest first, at most `limit`.
pub async fn events_about(
    db: &Db,
    subjects: &[String],
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT seq, at, actor, action, subject, details FROM audit_events \
         WHERE subject IN ({}) ORDER BY seq LIMIT ${}",
        super::placeholders(1, subjects.len()),
        subjects.len() + 1
    );
    let mut q = sqlx::query_as::<_, EventRow>(&sql);
    for s in subjects {
        q = q.bind(s);
    }
    let rows = q.bind(limit).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(event).collect())
}

/// An `audit_events` row with its chain columns.
type ChainRow = (
    i64,
    Timestamp,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// Checks the whole chain; returns the first broken sequence number, if any.
pub async fn verify_audit_chain(db: &Db) -> Result<Option<i64>, DbError> {
    Ok(verify_audit_chain_counted(db).await?.1)
}

/// Like [`verify_audit_chain`], with the number of events checked.
pub async fn verify_audit_chain_counted(db: &Db) -> Result<(usize, Option<i64>), DbError> {
    let rows: Vec<ChainRow> = sqlx::query_as(
        "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_events \
         ORDER BY seq",
    )
    .fetch_all(db.pool())
    .await?;
    let count = rows.len();
    let mut prev = GENESIS.to_owned();
    for (seq, at, actor, action, subject, details, prev_hash, hash) in rows {
        if prev_hash != prev || hash != chain_hash(&prev, at, &actor, &action, &subject, &details) {
            return Ok((count, Some(seq)));
        }
        prev = hash;
    }
    Ok((count, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::each_engine;

    #[tokio::test]
    async fn events_chain_and_tampering_breaks_the_chain() {
        each_engine(|db| async move {
            for i in 0..3 {
                let mut tx = db.begin_write().await.unwrap();
                insert_audit_event(
                    &mut tx,
                    Timestamp::from_millis(100 + i),
                    "ada",
                    AuditAction::IntegrationSaved,
                    "integration",
                    &serde_json::json!({ "n": i }),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
            let events = list_audit_events(&db, None, 10).await.unwrap();
            assert_eq!(
                events.iter().map(|e| e.at.millis()).collect::<Vec<_>>(),
                [102, 101, 100]
            );
            assert_eq!(
                list_audit_events(&db, Some(events[0].seq), 1)
                    .await
                    .unwrap()[0]
                    .at
                    .millis(),
                101
            );
            assert_eq!(verify_audit_chain(&db).await.unwrap(), None);
            sqlx::query("UPDATE audit_events SET actor = 'mallory' WHERE seq = $1")
                .bind(events[1].seq)
                .execute(db.pool())
                .await
                .unwrap();
            assert_eq!(verify_audit_chain(&db).await.unwrap(), Some(events[1].seq));
        })
        .await;
    }
}
