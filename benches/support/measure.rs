//! One program as its own process under `/usr/bin/time`: wall time and peak memory
//! (maximum resident set) from the operating system. `#[path]`-included by the benches.
#![allow(dead_code)] // Each bench uses a different part.

use std::process::Command;

pub fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

/// Wall seconds and peak resident kilobytes of one process.
#[derive(Clone, Copy)]
pub struct Measured {
    pub wall: f64,
    pub peak_kb: u64,
}

/// Run `cmd` under `/usr/bin/time`; its stdout is returned for checking.
pub fn measure(cmd: Command) -> Result<(Measured, String), String> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("@@ %e %M").arg(program).args(args);
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let out = timed.output().map_err(|e| format!("/usr/bin/time: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(stderr.lines().last().unwrap_or("failed").to_owned());
    }
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("@@ "))
        .ok_or("no timing")?;
    let mut it = line.split_whitespace();
    let wall = it.next().and_then(|w| w.parse().ok()).ok_or("wall")?;
    let peak_kb = it.next().and_then(|m| m.parse().ok()).ok_or("peak")?;
    Ok((
        Measured { wall, peak_kb },
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// The better of two runs (the machine is shared; the first run also warms the page cache).
pub fn best_of_two(make: impl Fn() -> Command) -> Result<(Measured, String), String> {
    let a = measure(make())?;
    let b = measure(make())?;
    Ok(if b.0.wall < a.0.wall {
        (
            Measured {
                wall: b.0.wall,
                peak_kb: a.0.peak_kb.min(b.0.peak_kb),
            },
            b.1,
        )
    } else {
        (
            Measured {
                wall: a.0.wall,
                peak_kb: a.0.peak_kb.min(b.0.peak_kb),
            },
            a.1,
        )
    })
}

pub fn line(
    name: &str,
    m: Measured,
    wall_base: Option<(&str, f64)>,
    mem_base: Option<(&str, u64)>,
) {
    let mut s = format!(
        "  {name:<40} {:>7.2} s {:>8.0} MB",
        m.wall,
        m.peak_kb as f64 / 1024.0
    );
    if let Some((n, w)) = wall_base {
        s.push_str(&format!("   wall {:.2}× {n}", m.wall / w.max(1e-9)));
    }
    if let Some((n, k)) = mem_base {
        s.push_str(&format!(
            ", memory {:.2}× {n}",
            m.peak_kb as f64 / (k as f64).max(1.0)
        ));
    }
    println!("{s}");
}
