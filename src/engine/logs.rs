//! Container logs: the last lines (for error reports) and a stream (for
//! `logs -f`). Both read stdout and stderr, which bollard leaves off unless
//! asked.

use futures_util::{Stream, StreamExt, stream};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;

use super::{Engine, EngineError, LogLine, LogStream};

impl Engine {
    /// The last `lines` lines container `id` wrote, stdout and stderr
    /// interleaved in the order they were written.
    pub async fn container_logs_tail(&self, id: &str, lines: usize) -> Result<Vec<String>, EngineError> {
        let mut stream = std::pin::pin!(self.container_logs_stream(id, false, Some(lines as u64)));
        let mut tail = Vec::new();
        while let Some(line) = stream.next().await {
            tail.push(line?.text);
        }
        Ok(tail)
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
