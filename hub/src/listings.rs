//! What each listing of the command line prints: a table for people (a header row, tab
//! separated, times in the office's time zone to the second, names rather than ids where a
//! person reads them) or JSON for scripts (`--json`: the same rows, times in UTC), both through
//! [`Printer`].

use crate::admin::FormListing;
use crate::backup::{Backup, Restored};
use crate::error::Result;
use crate::output::{local_time, local_time_or_never, Printer};
use crate::show::{AuthorChanges, ShownAnswer, SubmissionDetail};
use crate::storage::{Device, Project, SubmissionRow};
use std::io::Write;

pub fn projects(projects: &[Project], json: bool, out: &mut Printer<impl Write>) -> Result<()> {
    if json {
        return out.json(&projects);
    }
    out.table(&["project", "title", "created"], projects, |p| {
        vec![p.name.clone(), p.title.clone(), local_time(&p.created_at)]
    })
}

/// `user list`: each console user with the projects she supervises.
pub fn console_users(
    users: &[crate::storage::ConsoleUser],
    json: bool,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    if json {
        return out.json(&users);
    }
    out.table(&["user", "projects", "created"], users, |u| {
        vec![
            u.name.clone(),
            u.projects.join(", "),
            local_time(&u.created_at),
        ]
    })
}

pub fn forms(forms: &[FormListing], json: bool, out: &mut Printer<impl Write>) -> Result<()> {
    if json {
        return out.json(&forms);
    }
    let header = ["form", "version", "title", "published", "submissions"];
    out.table(&header, forms, |f| {
        vec![
            f.version.form_id.clone(),
            f.version.version.clone(),
            f.title.clone(),
            local_time(&f.version.published_at),
            f.version.submissions.to_string(),
        ]
    })
}

pub fn devices(devices: &[Device], json: bool, out: &mut Printer<impl Write>) -> Result<()> {
    if json {
        return out.json(&devices);
    }
    // Id first, as scripts written for earlier hubs read it; then who and where, and when it
    // last synced, so that a phone silent for days shows.
    let header = ["id", "project", "role", "name", "last sync", "state"];
    out.table(&header, devices, |d| {
        let state = match &d.revoked_at {
            Some(at) => format!("revoked {}", local_time(at)),
            None => "active".into(),
        };
        vec![
            d.id.clone(),
            d.project.clone(),
            d.role.to_string(),
            d.name.clone(),
            local_time_or_never(d.last_sync_at.as_ref()),
            state,
        ]
    })
}

/// A review state as a supervisor says it.
fn review_words(state: &str) -> &str {
    match state {
        "received" => "to review",
        "has_issues" => "has issues",
        other => other,
    }
}

/// Whose a submission is: the device's name, else its id.
fn device_of(row: &SubmissionRow) -> String {
    row.author_name
        .clone()
        .or_else(|| row.author.clone())
        .unwrap_or_else(|| "-".into())
}

pub fn submissions(
    rows: &[SubmissionRow],
    json: bool,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    if json {
        return out.json(&rows);
    }
    let header = [
        "updated",
        "form",
        "version",
        "status",
        "review",
        "name",
        "submitter",
        "device",
        "conflicts",
        "invalid",
        "id",
    ];
    out.table(&header, rows, |r| {
        let status = if r.deleted {
            "deleted"
        } else {
            r.status.as_str()
        };
        vec![
            local_time(&r.updated_at),
            r.form_id.clone(),
            r.form_version.clone(),
            status.into(),
            review_words(&r.review_state).into(),
            r.instance_name.clone().unwrap_or_default(),
            r.submitter.clone(),
            device_of(r),
            if r.has_conflicts { "yes" } else { "" }.into(),
            if r.invalid { "yes" } else { "" }.into(),
            r.id.clone(),
        ]
    })
}

/// `submissions show`: the facts, the answers (indented by repeat), the review, the history.
pub fn submission(
    detail: &SubmissionDetail,
    json: bool,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    if json {
        return out.json(detail);
    }
    let r = &detail.row;
    out.line(format_args!("Submission {}", r.id))?;
    let title = detail
        .form_title
        .clone()
        .unwrap_or_else(|| r.form_id.clone());
    out.line(format_args!(
        "Form: {title} ({} version {})",
        r.form_id, r.form_version
    ))?;
    if let Some(name) = &r.instance_name {
        out.line(format_args!("Name: {name}"))?;
    }
    let status = if r.deleted {
        "deleted"
    } else {
        r.status.as_str()
    };
    out.line(format_args!(
        "Status: {status}; review: {}",
        review_words(&r.review_state)
    ))?;
    out.line(format_args!(
        "Submitted by: {} on {}",
        r.submitter,
        device_of(r)
    ))?;
    out.line(format_args!(
        "Created: {}; last changed at the hub: {}",
        local_time(&r.created_at),
        local_time(&r.updated_at)
    ))?;
    if let (Some(latitude), Some(longitude)) = (r.latitude, r.longitude) {
        out.line(format_args!("Place: {latitude}, {longitude}"))?;
    }
    if r.has_conflicts {
        out.line(format_args!(
            "Conflicts: two devices changed an answer; settle it on a supervisor's device"
        ))?;
    }
    if r.invalid {
        out.line(format_args!(
            "Invalid on arrival: its answers do not fit form {} version {} (kept as sent)",
            r.form_id, r.form_version
        ))?;
        for found in &r.invalid_reasons {
            out.line(format_args!("  {}: {}", found.question, found.reason))?;
        }
    }
    out.line(format_args!("Answers:"))?;
    answers(&detail.answers, 1, out)?;
    review(detail, out)?;
    out.line(format_args!("History:"))?;
    for entry in &detail.history {
        out.line(format_args!("  {}", history_line(entry)))?;
    }
    Ok(())
}

fn answers(shown: &[ShownAnswer], depth: usize, out: &mut Printer<impl Write>) -> Result<()> {
    let indent = "  ".repeat(depth);
    if shown.is_empty() {
        return out.line(format_args!("{indent}(none)"));
    }
    for answer in shown {
        let label = answer.label.as_deref().unwrap_or(&answer.name);
        match &answer.text {
            Some(text) => out.line(format_args!("{indent}{label}: {text}"))?,
            None => {
                out.line(format_args!("{indent}{label}:"))?;
                for (number, instance) in answer.instances.iter().enumerate() {
                    out.line(format_args!("{indent}  #{}", number + 1))?;
                    answers(instance, depth + 2, out)?;
                }
            }
        }
    }
    Ok(())
}

fn review(detail: &SubmissionDetail, out: &mut Printer<impl Write>) -> Result<()> {
    let Some(review) = &detail.review else {
        return out.line(format_args!("Review: none yet"));
    };
    let decided = match (&review.decided_by, &review.decided_at) {
        (Some(by), Some(at)) => format!(" by {by} on {}", local_time(at)),
        (Some(by), None) => format!(" by {by}"),
        _ => String::new(),
    };
    out.line(format_args!(
        "Review: {}{decided}",
        review_words(&review.state)
    ))?;
    for comment in &review.comments {
        let on = comment
            .question
            .as_ref()
            .map(|q| format!(" on {q}"))
            .unwrap_or_default();
        out.line(format_args!(
            "  {} wrote{on} ({}): {}",
            comment.by,
            local_time(&comment.at),
            comment.text
        ))?;
    }
    Ok(())
}

/// "ana on Ana's phone: 3 changes, 2026-03-14 09:26:53 -05:00 to 2026-03-14 10:02:11 -05:00;
/// signed by device Ana's phone".
fn history_line(entry: &AuthorChanges) -> String {
    let who = entry.user_name.clone().unwrap_or_else(|| "someone".into());
    let device = entry
        .device_name
        .clone()
        .or_else(|| entry.device_id.clone())
        .unwrap_or_else(|| "an unknown device".into());
    let when = if entry.first == entry.last {
        local_time(&entry.first)
    } else {
        format!(
            "{} to {}",
            local_time(&entry.first),
            local_time(&entry.last)
        )
    };
    let changes = match entry.changes {
        1 => "1 change".to_string(),
        n => format!("{n} changes"),
    };
    let signed = crate::console::i18n::Lang::En
        .texts()
        .signed_by(&entry.signer);
    format!("{who} on {device}: {changes}, {when}; {signed}")
}

pub fn backup_written(backup: &Backup, out: &mut Printer<impl Write>) -> Result<()> {
    for file in &backup.files {
        out.line(format_args!("wrote {}", file.display()))?;
    }
    out.line(format_args!(
        "The backup holds the database and its key: keep it as safe as the hub itself."
    ))
}

pub fn restored(restored: &Restored, out: &mut Printer<impl Write>) -> Result<()> {
    out.line(format_args!(
        "restored the hub of {} into {} (key file {}); start it with `minga-hub --data {} serve`",
        local_time(&restored.taken_at),
        restored.data.display(),
        restored.key_file.display(),
        restored.data.display()
    ))
}
