//! `gatepass policies export` and `gatepass policies apply FILE [--dry-run]`: policies as a
//! TOML file under version control. The file is the whole truth: applying it makes the
//! policies exactly what it says (policies it does not name are deleted). `apply` asks
//! Gatepass for the plan — every change, field by field — and prints it; without `--dry-run`
//! it then applies exactly that plan in one transaction, and Gatepass refuses (412) if anyone
//! changed a policy in between.

use clap::Subcommand;

use app::model::{ChangeKind, PolicyExport, PolicyPlan, PolicySet};

use super::{parse, Api, Failure};

/// `gatepass policies …`
#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Print every policy as a policies file (TOML) on standard output.
    Export,
    /// Make the policies exactly what FILE says: print the plan, then apply it.
    Apply {
        /// A policies file (TOML, `[[policy]]` tables), as `export` writes it.
        file: std::path::PathBuf,
        /// Print the plan only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The file's text for `set`.
pub fn to_file(set: &PolicySet) -> Result<String, Failure> {
    toml::to_string(set).map_err(|e| Failure::new(4, format!("cannot write TOML: {e}")))
}

/// The set a file holds; a clear error naming the line otherwise.
pub fn from_file(path: &std::path::Path, text: &str) -> Result<PolicySet, Failure> {
    toml::from_str(text).map_err(|e| Failure::new(2, format!("{}: {e}", path.display())))
}

pub(super) async fn run(
    api: &Api,
    command: PoliciesCommand,
    json_out: bool,
) -> Result<(), Failure> {
    match command {
        PoliciesCommand::Export => {
            let answer = api.get("/api/v1/policies/export").await?;
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).unwrap_or_default()
                );
                return Ok(());
            }
            let export: PolicyExport = parse(answer)?;
            print!(
                "{}",
                to_file(&PolicySet {
                    policies: export.policies
                })?
            );
            Ok(())
        }
        PoliciesCommand::Apply { file, dry_run } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::new(2, format!("cannot read {}: {e}", file.display())))?;
            let set = from_file(&file, &text)?;
            let body = serde_json::to_value(&set).map_err(|_| Failure::new(4, "cannot encode"))?;
            let answer = api.post("/api/v1/policies/plan", body.clone()).await?;
            let plan: PolicyPlan = parse(answer.clone())?;
            if json_out && dry_run {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).unwrap_or_default()
                );
                return Ok(());
            }
            if !json_out {
                print!("{}", describe(&plan));
            }
            if dry_run || plan.changes.is_empty() {
                return Ok(());
            }
            let done = api
                .call_with(
                    reqwest::Method::POST,
                    "/api/v1/policies/apply",
                    Some(body),
                    &[("If-Match", plan.version.as_str())],
                )
                .await?;
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&done).unwrap_or_default()
                );
            } else {
                let done: PolicyPlan = parse(done)?;
                println!(
                    "Applied {} change{}.",
                    done.changes.len(),
                    if done.changes.len() == 1 { "" } else { "s" }
                );
            }
            Ok(())
        }
    }
}

/// The plan as people read it: a summary, then `+` added, `~` changed (field: before → after),
/// `-` deleted.
pub fn describe(plan: &PolicyPlan) -> String {
    let count = |k: ChangeKind| plan.changes.iter().filter(|c| c.kind == k).count();
    let mut out = format!(
        "Plan: {} to add, {} to change, {} to delete, {} unchanged.\n",
        count(ChangeKind::Add),
        count(ChangeKind::Change),
        count(ChangeKind::Delete),
        plan.unchanged
    );
    for change in &plan.changes {
        let (sign, verb) = match change.kind {
            ChangeKind::Add => ('+', "add"),
            ChangeKind::Change => ('~', "change"),
            ChangeKind::Delete => ('-', "delete"),
        };
        out.push_str(&format!("{sign} {verb} {}\n", change.applies_to));
        for f in &change.fields {
            let show = |v: &Option<String>| match v.as_deref() {
                Some("") => "(none)".to_owned(),
                Some(v) => v.to_owned(),
                None => String::new(),
            };
            match change.kind {
                ChangeKind::Change => out.push_str(&format!(
                    "    {}: {} → {}\n",
                    f.field,
                    show(&f.before),
                    show(&f.after)
                )),
                ChangeKind::Add => out.push_str(&format!("    {}: {}\n", f.field, show(&f.after))),
                ChangeKind::Delete => {
                    out.push_str(&format!("    {}: {}\n", f.field, show(&f.before)))
                }
            }
        }
    }
    if plan.changes.is_empty() {
        out.push_str("Nothing to change.\n");
    }
    out
}
