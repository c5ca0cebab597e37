//! The results table: printed to stdout and written as bench/results.md with the machine description.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

/// One line of the table: what was measured, the figure, and the target it is held to (if any).
pub struct Line {
    pub section: &'static str,
    pub what: String,
    pub figure: String,
    pub target: String,
    /// `Some(true)` MET, `Some(false)` MISSED, `None` no target.
    pub met: Option<bool>,
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "MET",
        Some(false) => "MISSED",
        None => "",
    }
}

/// The table as Markdown (also readable as plain text).
pub fn table(lines: &[Line]) -> String {
    let mut out = String::from("| section | measurement | figure | target | status |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for l in lines {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            l.section,
            l.what,
            l.figure,
            l.target,
            verdict(l.met)
        );
    }
    out
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn proc_field(file: &str, key: &str) -> String {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// The machine, date, command and commit the figures come from.
pub fn header(command: &str) -> String {
    let mem_kb: u64 = proc_field("/proc/meminfo", "MemTotal")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or(0);
    let dirty = if sh("git", &["status", "--porcelain"]).is_empty() {
        ""
    } else {
        " (working tree has uncommitted changes)"
    };
    format!(
        "- machine: {} cores (nproc), {}, {:.1} GiB RAM\n- date: {}\n- command: `{}`\n- git commit: {}{}\n",
        sh("nproc", &[]),
        proc_field("/proc/cpuinfo", "model name"),
        mem_kb as f64 / (1024.0 * 1024.0),
        sh("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
        command,
        sh("git", &["rev-parse", "HEAD"]),
        dirty
    )
}
