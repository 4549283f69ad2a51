//! Container logs: the last lines (for error reports) and a stream (for
//! `logs -f`). Both read stdout and stderr, which bollard leaves off unless
//! asked.

use futures_util::{Stream, StreamExt, stream};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Engine, EngineError, LogLine, LogStream};

impl Engine {
    /// The last `lines` lines container `id` wrote, stdout and stderr
    /// merged in the order they were written. The engine keeps the two
    /// streams' lines apart in its answer, so it is asked for each line's
    /// time (`timestamps`) and the lines are sorted by it; the times are
    /// stripped again.
    pub async fn container_logs_tail(&self, id: &str, lines: usize) -> Result<Vec<String>, EngineError> {
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(&lines.to_string())
            .build();
        let mut frames = self.docker.logs(id, Some(options));
        let mut stamped = Vec::new();
        while let Some(frame) = frames.next().await {
            let frame = frame.map_err(|source| {
                super::api_error(&self.address, "read the logs of container", id.to_string(), source)
            })?;
            stamped.extend(timestamped_lines(frame));
        }
        Ok(by_time(stamped, lines))
    }

    /// Container `id`'s output line by line: the last `tail` lines (all when
    /// `None`), then, with `follow`, new lines as they come until the
    /// container stops or the stream is dropped.
    pub fn container_logs_stream(
        &self,
        id: &str,
        follow: bool,
        tail: Option<u64>,
    ) -> impl Stream<Item = Result<LogLine, EngineError>> + Send + use<> {
        let tail = tail.map_or_else(|| "all".to_string(), |lines| lines.to_string());
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        let id = id.to_string();
        let address = self.address.clone();
        self.docker.logs(&id, Some(options)).flat_map(move |item| {
            let lines = match item {
                Ok(output) => split_lines(output).into_iter().map(Ok).collect(),
                Err(source) => {
                    vec![Err(super::api_error(
                        &address,
                        "read the logs of container",
                        id.clone(),
                        source,
                    ))]
                }
            };
            stream::iter(lines)
        })
    }
}

/// A frame's lines with the time the engine stamped it (`None` when it
/// carries none); lines of one frame share its time.
fn timestamped_lines(frame: LogOutput) -> Vec<(Option<OffsetDateTime>, String)> {
    let lines = split_lines(frame);
    let mut time = None;
    lines
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let text = match line.text.split_once(' ') {
                // A frame holding several lines stamps only its first.
                Some((stamp, rest)) if index == 0 || time.is_none() => match OffsetDateTime::parse(stamp, &Rfc3339) {
                    Ok(parsed) => {
                        time = Some(parsed);
                        rest.to_string()
                    }
                    Err(_) => line.text,
                },
                _ => line.text,
            };
            (time, text)
        })
        .collect()
}

/// The last `lines` of `stamped`, in time order (stable: lines of the same
/// time keep the engine's order), without their times.
fn by_time(mut stamped: Vec<(Option<OffsetDateTime>, String)>, lines: usize) -> Vec<String> {
    stamped.sort_by_key(|(time, _)| *time);
    let skip = stamped.len().saturating_sub(lines);
    stamped.into_iter().skip(skip).map(|(_, text)| text).collect()
}

/// One engine frame holds one line for the json-file and journald drivers,
/// but may hold several (or a part of one) for others: split on newlines.
fn split_lines(output: LogOutput) -> Vec<LogLine> {
    let (stream, message) = match output {
        LogOutput::StdOut { message } => (LogStream::Stdout, message),
        LogOutput::StdErr { message } => (LogStream::Stderr, message),
        LogOutput::Console { message } => (LogStream::Console, message),
        // Never sent by the logs endpoint.
        LogOutput::StdIn { .. } => return Vec::new(),
    };
    let text = String::from_utf8_lossy(&message);
    text.strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .map(|line| LogLine {
            stream,
            text: line.strip_suffix('\r').unwrap_or(line).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: &str, text: &str) -> LogOutput {
        let message = text.as_bytes().to_vec().into();
        match stream {
            "out" => LogOutput::StdOut { message },
            _ => LogOutput::StdErr { message },
        }
    }

    #[test]
    fn stdout_and_stderr_lines_are_merged_by_time_and_the_times_stripped() {
        // What the engine sends: stdout's lines, then stderr's.
        let frames = [
            frame("out", "2026-12-05T07:40:01.1Z starting\n"),
            frame("out", "2026-12-05T07:40:01.300000001Z connecting to db\n"),
            frame("err", "2026-12-05T07:40:01.2Z warning: no config file\n"),
            frame("err", "2026-12-05T07:40:01.4Z error: db refused\n"),
        ];
        let stamped = frames.into_iter().flat_map(timestamped_lines).collect();
        assert_eq!(
            by_time(stamped, 30),
            [
                "starting",
                "warning: no config file",
                "connecting to db",
                "error: db refused"
            ]
        );
    }

    #[test]
    fn a_frame_of_several_lines_keeps_them_together_and_only_the_last_lines_are_kept() {
        let frames = [
            frame("err", "2026-12-05T07:40:02Z Traceback:\n  line 3\n"),
            frame("out", "2026-12-05T07:40:01Z hello\n"),
        ];
        let stamped = frames.into_iter().flat_map(timestamped_lines).collect();
        assert_eq!(by_time(stamped, 2), ["Traceback:", "  line 3"]);
    }
}
