//! The journal drawn by hand as SVG (no dependencies): a lane of commands (green when they
//! returned 0, red otherwise), a band of the ADSync service's state after each command
//! (running, stopped, failed, pending), a lane of events per log with markers coloured by
//! level (error red, warning amber, information blue), and the simulated clock underneath,
//! marked where it jumped. Every mark carries a `<title>` with the full text for hovering.

use std::fmt::Write as _;

use super::{Band, Entry};
use crate::win::eventlog::{Level, LogName};

const LEFT: f64 = 170.0;
/// Room on the right for the last command's slanted label.
const RIGHT: f64 = 210.0;
const WIDTH_TARGET: f64 = 1700.0;
const MIN_COLUMN: f64 = 44.0;
const MAX_COLUMN: f64 = 140.0;
const TOP: f64 = 70.0;
const COMMAND_LANE: f64 = 190.0;
const SERVICE_LANE: f64 = 34.0;
const EVENT_ROW: f64 = 20.0;
const MAX_EVENT_ROWS: usize = 6;
const LABEL_CHARS: usize = 42;

/// Colours: Event Viewer's and the Services console's meanings, readable on a projector.
fn band_colour(b: Band) -> &'static str {
    match b {
        Band::Running => "#2e7d32",
        Band::Stopped => "#9e9e9e",
        Band::Failed => "#c62828",
        Band::Pending => "#f9a825",
        Band::Unknown => "#e0e0e0",
    }
}

fn level_colour(l: Level) -> &'static str {
    match l {
        Level::Error => "#d32f2f",
        Level::Warning => "#ffa000",
        Level::Information => "#1976d2",
    }
}

/// XML text escaping.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `2026-01-05T09:00:00Z` → `Jan 05 09:00`.
fn clock_label(rfc: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = rfc
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("");
    match (rfc.get(8..10), rfc.get(11..16)) {
        (Some(d), Some(t)) => format!("{month} {d} {t}"),
        _ => rfc.to_owned(),
    }
}

struct Layout {
    column: f64,
    width: f64,
    event_rows: usize,
    height: f64,
}

impl Layout {
    fn new(entries: &[Entry]) -> Self {
        let n = entries.len().max(1) as f64;
        let column = ((WIDTH_TARGET - LEFT - RIGHT) / n).clamp(MIN_COLUMN, MAX_COLUMN);
        let width = LEFT + RIGHT + column * n;
        let event_rows = [LogName::System, LogName::Application]
            .iter()
            .map(|log| {
                entries
                    .iter()
                    .map(|e| e.events.iter().filter(|ev| ev.log == *log).count())
                    .max()
                    .unwrap_or(0)
                    .clamp(1, MAX_EVENT_ROWS)
            })
            .sum();
        let height =
            TOP + COMMAND_LANE + SERVICE_LANE + 30.0 + event_rows as f64 * EVENT_ROW + 40.0 + 70.0;
        Self {
            column,
            width,
            event_rows,
            height,
        }
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + self.column * i as f64
    }
}

/// The journal as an SVG picture titled `title`.
///
/// Longer than 80 lines on purpose: it writes the document top to bottom (frame, lanes, state
/// bands, commands, events, legend), so the SVG reads in the order the code does.
pub fn svg(title: &str, entries: &[Entry]) -> String {
    let l = Layout::new(entries);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="12">"#,
        w = l.width,
        h = l.height
    );
    let _ = write!(
        s,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="20" y="30" font-size="20" font-weight="600" fill="#212121">{}</text>"##,
        esc(&short(title, ((l.width - 40.0) / 11.0) as usize))
    );
    let span = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) if a.clock == b.clock => format!(
            "{} commands at simulated {} (commands take no simulated time; the clock moves with clock advance)",
            entries.len(),
            a.clock
        ),
        (Some(a), Some(b)) => format!(
            "{} commands, simulated time {} to {}",
            entries.len(),
            a.clock,
            b.clock
        ),
        _ => "an empty journal".to_owned(),
    };
    let _ = write!(
        s,
        r##"<text x="20" y="52" font-size="13" fill="#616161">{}</text>"##,
        esc(&span)
    );

    // Lane labels and guides.
    let cmd_base = TOP + COMMAND_LANE;
    let svc_top = cmd_base + 14.0;
    let ev_top = svc_top + SERVICE_LANE + 16.0;
    let rows_sys = entries
        .iter()
        .map(|e| {
            e.events
                .iter()
                .filter(|ev| ev.log == LogName::System)
                .count()
        })
        .max()
        .unwrap_or(0)
        .clamp(1, MAX_EVENT_ROWS);
    let app_top = ev_top + rows_sys as f64 * EVENT_ROW + 6.0;
    let ev_bottom = ev_top + l.event_rows as f64 * EVENT_ROW + 6.0;
    for (y, label) in [
        (cmd_base - 4.0, "Commands"),
        (svc_top + SERVICE_LANE / 2.0 + 4.0, "ADSync service"),
        (ev_top + 14.0, "System log"),
        (app_top + 14.0, "Application log"),
    ] {
        let _ = write!(
            s,
            r##"<text x="20" y="{y:.1}" font-size="13" font-weight="600" fill="#424242">{label}</text>"##
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#bdbdbd"/><line x1="{LEFT}" y1="{y2:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#eeeeee"/>"##,
        y = cmd_base,
        x2 = l.width - RIGHT,
        y2 = app_top - 3.0
    );

    let mut previous_clock: Option<&str> = None;
    for (i, e) in entries.iter().enumerate() {
        let x = l.x(i);
        let cx = x + l.column / 2.0;
        // Clock jumps: a dashed guide across the lanes.
        let jumped = previous_clock.is_some_and(|p| p != e.clock);
        if jumped {
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{t:.1}" x2="{x:.1}" y2="{b:.1}" stroke="#7b1fa2" stroke-dasharray="4 3"/>"##,
                t = TOP,
                b = ev_bottom + 24.0
            );
        }
        if previous_clock.is_none() || jumped {
            let _ = write!(
                s,
                r##"<text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="#7b1fa2">{}</text>"##,
                esc(&clock_label(&e.clock)),
                tx = x + 3.0,
                ty = ev_bottom + 20.0
            );
        }
        previous_clock = Some(&e.clock);

        // The command: a marker on the base line, its label slanted above.
        let ok = e.code == 0;
        let colour = if ok { "#2e7d32" } else { "#c62828" };
        let result = if ok {
            "0".to_owned()
        } else if e.code > 0xFFFF {
            format!("0x{:08X}", e.code)
        } else {
            e.code.to_string()
        };
        // A failed command's label ends with its result code, in red.
        let label = if ok {
            esc(&short(&e.command, LABEL_CHARS))
        } else {
            format!(
                r##"{}<tspan fill="#c62828" font-weight="700">  {}</tspan>"##,
                esc(&short(&e.command, LABEL_CHARS - result.len() - 2)),
                esc(&result)
            )
        };
        let _ = write!(
            s,
            r##"<g><title>{n}. {cmd}&#10;result {res}&#10;{clock}</title><circle cx="{cx:.1}" cy="{cy:.1}" r="6" fill="{colour}"/><text transform="translate({tx:.1},{ty:.1}) rotate(-40)" font-family="Consolas, Menlo, monospace" font-size="11.5" fill="#212121">{label}</text></g>"##,
            n = e.seq,
            cmd = esc(&e.command),
            res = esc(&result),
            clock = esc(&e.clock),
            cy = cmd_base,
            tx = cx + 2.0,
            ty = cmd_base - 12.0,
        );

        // The service band.
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{svc_top:.1}" width="{w:.1}" height="{SERVICE_LANE}" fill="{c}"><title>{n}. ADSync {state}</title></rect>"##,
            w = l.column + 0.5,
            c = band_colour(e.service),
            n = e.seq,
            state = e.service.as_str()
        );

        // Events, one row each per log.
        for (log, top) in [(LogName::System, ev_top), (LogName::Application, app_top)] {
            let evs: Vec<_> = e.events.iter().filter(|ev| ev.log == log).collect();
            let rows = if log == LogName::System {
                rows_sys
            } else {
                l.event_rows - rows_sys
            };
            for (k, ev) in evs.iter().enumerate() {
                let y = top + 10.0 + k as f64 * EVENT_ROW;
                if k + 1 == rows && evs.len() > rows {
                    let _ = write!(
                        s,
                        r##"<text x="{cx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle" fill="#616161">+{}</text>"##,
                        evs.len() - k,
                        ty = y + 4.0
                    );
                    break;
                }
                let _ = write!(
                    s,
                    r##"<g><title>{log} {id} {level} — {src}&#10;{time}&#10;{msg}</title><rect x="{rx:.1}" y="{ry:.1}" width="{rw:.1}" height="16" rx="8" fill="{c}"/><text x="{cx:.1}" y="{ty:.1}" font-size="11" font-weight="600" text-anchor="middle" fill="#ffffff">{id}</text></g>"##,
                    log = log.as_str(),
                    id = ev.id,
                    level = ev.level.as_str(),
                    src = esc(&ev.source),
                    time = esc(&ev.time.to_string()),
                    msg = esc(&ev.message),
                    rx = cx - 20.0_f64.min(l.column / 2.0 - 2.0),
                    ry = y - 8.0,
                    rw = 40.0_f64.min(l.column - 4.0),
                    c = level_colour(ev.level),
                    ty = y + 4.0,
                );
            }
        }
    }

    // Legend.
    let ly = ev_bottom + 56.0;
    let mut x = 20.0;
    let _ = write!(
        s,
        r##"<text x="{x}" y="{ly:.1}" font-size="12" font-weight="600" fill="#424242">Legend</text>"##
    );
    x += 60.0;
    let items: [(&str, &str, bool); 10] = [
        ("#2e7d32", "command returned 0", true),
        ("#c62828", "command failed (result code)", true),
        (band_colour(Band::Running), "running", false),
        (band_colour(Band::Stopped), "stopped", false),
        (band_colour(Band::Failed), "failed (exit code)", false),
        (band_colour(Band::Pending), "pending", false),
        (level_colour(Level::Error), "error event", true),
        (level_colour(Level::Warning), "warning event", true),
        (level_colour(Level::Information), "information event", true),
        ("#7b1fa2", "simulated clock moved", false),
    ];
    for (c, label, round) in items {
        if round {
            let _ = write!(
                s,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="6" fill="{c}"/>"##,
                cx = x + 6.0,
                cy = ly - 4.0
            );
        } else {
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="14" height="12" fill="{c}"/>"##,
                y = ly - 10.0
            );
        }
        let _ = write!(
            s,
            r##"<text x="{tx:.1}" y="{ly:.1}" font-size="12" fill="#424242">{label}</text>"##,
            tx = x + 18.0
        );
        x += 34.0 + label.chars().count() as f64 * 7.0;
        if x > l.width - 160.0 {
            x = 80.0;
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The journal as one self-contained HTML page: the picture, and the journal as a table.
pub fn html(title: &str, entries: &[Entry]) -> String {
    let mut rows = String::new();
    for e in entries {
        let events = e
            .events
            .iter()
            .map(|ev| {
                format!(
                    r#"<div class="ev {}"><b>{} {}</b> {} — {}</div>"#,
                    ev.level.as_str().to_ascii_lowercase(),
                    ev.log.as_str(),
                    ev.id,
                    esc(&ev.source),
                    esc(&ev.message)
                )
            })
            .collect::<String>();
        let _ = write!(
            rows,
            r#"<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class="{}">{}</td><td><span class="band {}">{}</span></td><td>{}</td></tr>"#,
            e.seq,
            esc(&e.clock),
            esc(&e.command),
            if e.code == 0 { "ok" } else { "fail" },
            if e.code > 0xFFFF {
                format!("0x{:08X}", e.code)
            } else {
                e.code.to_string()
            },
            e.service.as_str(),
            e.service.as_str(),
            events
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>{t}</title>
<style>
body {{ font-family: "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #212121; }}
h1 {{ font-size: 22px; }}
.picture {{ overflow-x: auto; border: 1px solid #e0e0e0; }}
table {{ border-collapse: collapse; margin-top: 24px; width: 100%; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f5f5f5; }}
td.ok {{ color: #2e7d32; }} td.fail {{ color: #c62828; font-weight: 600; }}
.band {{ padding: 1px 6px; border-radius: 3px; color: #fff; }}
.band.running {{ background: #2e7d32; }} .band.stopped {{ background: #9e9e9e; }}
.band.failed {{ background: #c62828; }} .band.pending {{ background: #f9a825; }}
.band.unknown {{ background: #bdbdbd; }}
.ev {{ margin: 1px 0; padding-left: 6px; border-left: 4px solid #1976d2; white-space: pre-wrap; }}
.ev.error {{ border-color: #d32f2f; }} .ev.warning {{ border-color: #ffa000; }}
</style>
</head>
<body>
<h1>{t}</h1>
<div class="picture">
{svg}</div>
<table>
<thead><tr><th>#</th><th>simulated time</th><th>command</th><th>result</th><th>ADSync after</th><th>events</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"#,
        t = esc(title),
        svg = svg(title, entries),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_labels() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(clock_label("2026-01-05T09:30:00Z"), "Jan 05 09:30");
        assert_eq!(short("abcdef", 4), "abc…");
        let svg = svg("t & t", &[]);
        assert!(svg.starts_with("<svg") && svg.contains("t &amp; t"));
    }
}
