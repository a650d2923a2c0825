//! What the migrated schema is, read back from the database itself: tables, columns (with
//! nullability and primary key), indexes (columns, uniqueness, partial or not) and foreign keys.
//! The migration parity test compares it between SQLite and PostgreSQL, whose migrations are
//! written separately in each dialect.

use std::collections::BTreeSet;

use super::{Db, DbError};
use crate::model::DatabaseEngine;

/// One engine's schema, in a form both engines produce alike.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// `table.column` with ` not null` and ` pk` when they apply.
    pub columns: BTreeSet<String>,
    /// `table(col, …)` with ` unique` and ` partial` when they apply (primary keys left out).
    pub indexes: BTreeSet<String>,
    /// `table(col, …) -> table(col, …)`.
    pub foreign_keys: BTreeSet<String>,
}

/// The schema of `db` (the migrations table left out).
pub async fn read_schema(db: &Db) -> Result<Schema, DbError> {
    match db.engine() {
        DatabaseEngine::Sqlite => sqlite(db).await,
        DatabaseEngine::Postgres => postgres(db).await,
    }
}

fn column(table: &str, name: &str, not_null: bool, pk: bool) -> String {
    format!(
        "{table}.{name}{}{}",
        if not_null || pk { " not null" } else { "" },
        if pk { " pk" } else { "" }
    )
}

fn index(table: &str, columns: &str, unique: bool, partial: bool) -> String {
    format!(
        "{table}({columns}){}{}",
        if unique { " unique" } else { "" },
        if partial { " partial" } else { "" }
    )
}

async fn sqlite(db: &Db) -> Result<Schema, DbError> {
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
           AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?;
    for table in &tables {
        let cols: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, CAST(\"notnull\" AS BIGINT), CAST(pk AS BIGINT) \
             FROM pragma_table_info($1)",
        )
        .bind(table)
        .fetch_all(db.pool())
        .await?;
        for (name, not_null, pk) in cols {
            schema
                .columns
                .insert(column(table, &name, not_null != 0, pk != 0));
        }
        let idx: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT name, CAST(\"unique\" AS BIGINT), origin, CAST(partial AS BIGINT) \
             FROM pragma_index_list($1)",
        )
        .bind(table)
        .fetch_all(db.pool())
        .await?;
        for (name, unique, origin, partial) in idx {
            if origin == "pk" {
                continue;
            }
            let cols: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(db.pool())
                    .await?;
            schema
                .indexes
                .insert(index(table, &cols.join(", "), unique != 0, partial != 0));
        }
        let fks: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT CAST(id AS BIGINT), \"table\", \"from\", \"to\" \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(table)
        .fetch_all(db.pool())
        .await?;
        let mut by_id: std::collections::BTreeMap<i64, (String, Vec<String>, Vec<String>)> =
            Default::default();
        for (id, target, from, to) in fks {
            let e = by_id.entry(id).or_insert((target, vec![], vec![]));
            e.1.push(from);
            e.2.push(to);
        }
        for (_, (target, from, to)) in by_id {
            schema.foreign_keys.insert(format!(
                "{table}({}) -> {target}({})",
                from.join(", "),
                to.join(", ")
            ));
        }
    }
    Ok(schema)
}

async fn postgres(db: &Db) -> Result<Schema, DbError> {
    let mut schema = Schema::default();
    let pk_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.relname::text, a.attname::text FROM pg_index ix \
           JOIN pg_class t ON t.oid = ix.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey) \
         WHERE n.nspname = current_schema() AND ix.indisprimary",
    )
    .fetch_all(db.pool())
    .await?;
    let pk: BTreeSet<(String, String)> = pk_cols.into_iter().collect();
    let cols: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(db.pool())
    .await?;
    for (table, name, nullable) in cols {
        let is_pk = pk.contains(&(table.clone(), name.clone()));
        schema
            .columns
            .insert(column(&table, &name, nullable == "NO", is_pk));
    }
    let idx: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT t.relname::text, \
           array_to_string(ARRAY(SELECT a.attname::text \
             FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             ORDER BY k.ord), ', '), \
           CAST(CASE WHEN ix.indisunique THEN 1 ELSE 0 END AS BIGINT), \
           CAST(CASE WHEN ix.indpred IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) \
         FROM pg_index ix \
           JOIN pg_class t ON t.oid = ix.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND NOT ix.indisprimary \
           AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(db.pool())
    .await?;
    for (table, cols, unique, partial) in idx {
        schema
            .indexes
            .insert(index(&table, &cols, unique != 0, partial != 0));
    }
    let fks: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT t.relname::text, \
           array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY \
             AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.conrelid \
             AND a.attnum = k.attnum ORDER BY k.ord), ', '), \
           f.relname::text, \
           array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY \
             AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.confrelid \
             AND a.attnum = k.attnum ORDER BY k.ord), ', ') \
         FROM pg_constraint c \
           JOIN pg_class t ON t.oid = c.conrelid \
           JOIN pg_class f ON f.oid = c.confrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(db.pool())
    .await?;
    for (table, from, target, to) in fks {
        schema
            .foreign_keys
            .insert(format!("{table}({from}) -> {target}({to})"));
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::testing::{engines, fresh_db};

    /// The SQLite and PostgreSQL migrations describe the same tables, columns, indexes and
    /// foreign keys.
    #[tokio::test]
    async fn both_engines_migrate_to_the_same_schema() {
        let engines = engines();
        if engines.len() < 2 {
            eprintln!("PostgreSQL not configured: parity not checked");
            return;
        }
        let sqlite = fresh_db(DatabaseEngine::Sqlite).await;
        let postgres = fresh_db(DatabaseEngine::Postgres).await;
        let a = read_schema(&sqlite.db).await.unwrap();
        let b = read_schema(&postgres.db).await.unwrap();
        assert!(a.columns.len() > 50, "schema not read: {a:?}");
        let diff = |what: &str, x: &BTreeSet<String>, y: &BTreeSet<String>| {
            let only_sqlite: Vec<_> = x.difference(y).collect();
            let only_pg: Vec<_> = y.difference(x).collect();
            assert!(
                only_sqlite.is_empty() && only_pg.is_empty(),
                "{what} differ\n  only on SQLite: {only_sqlite:#?}\n  only on PostgreSQL: {only_pg:#?}"
            );
        };
        diff("columns", &a.columns, &b.columns);
        diff("indexes", &a.indexes, &b.indexes);
        diff("foreign keys", &a.foreign_keys, &b.foreign_keys);

        // A change made on one engine only is seen.
        sqlx::query("CREATE INDEX extra ON grants (revoked_reason)")
            .execute(sqlite.db.pool())
            .await
            .unwrap();
        sqlx::query("ALTER TABLE grants ADD COLUMN extra TEXT")
            .execute(postgres.db.pool())
            .await
            .unwrap();
        let (a, b) = (
            read_schema(&sqlite.db).await.unwrap(),
            read_schema(&postgres.db).await.unwrap(),
        );
        assert_eq!(
            a.indexes.difference(&b.indexes).collect::<Vec<_>>(),
            ["grants(revoked_reason)"]
        );
        assert_eq!(
            b.columns.difference(&a.columns).collect::<Vec<_>>(),
            ["grants.extra"]
        );
    }
}
