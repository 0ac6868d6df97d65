//! A pipeline as data, rendered two ways from the same tokens: the description that
//! `gst::parse::launch` builds, and the `gst-launch-1.0` command a shell runs. The launcher
//! runs exactly what it prints.
//!
//! A pipeline is one or more chains of linked nodes; a chain that ends on a [`Node::Pad`]
//! feeds that pad of an element named in an earlier chain (`... ! aacparse ! ring.audio_0`).

/// One link of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element {
        factory: String,
        properties: Vec<(String, String)>,
    },
    Caps(String),
    /// A pad of the element called `element`, requested by name if it is a request pad.
    Pad {
        element: String,
        pad: String,
    },
}

impl Node {
    pub fn element(factory: &str) -> Node {
        Node::Element {
            factory: factory.to_owned(),
            properties: Vec::new(),
        }
    }

    /// Adds a property (builder style).
    pub fn with(mut self, name: &str, value: impl ToString) -> Node {
        if let Node::Element { properties, .. } = &mut self {
            properties.push((name.to_owned(), value.to_string()));
        }
        self
    }

    pub fn caps(caps: impl Into<String>) -> Node {
        Node::Caps(caps.into())
    }

    pub fn pad(element: &str, pad: &str) -> Node {
        Node::Pad {
            element: element.to_owned(),
            pad: pad.to_owned(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchLine {
    chains: Vec<Vec<Node>>,
}

impl LaunchLine {
    /// Appends to the current chain (the first one if none was started).
    pub fn push(&mut self, node: Node) {
        match self.chains.last_mut() {
            Some(chain) => chain.push(node),
            None => self.chains.push(vec![node]),
        }
    }

    /// Further nodes go to a new chain, not linked to the previous one.
    pub fn start_chain(&mut self) {
        self.chains.push(Vec::new());
    }

    /// The element factories the line uses, in order (with repeats).
    pub fn factories(&self) -> impl Iterator<Item = &str> {
        self.chains.iter().flatten().filter_map(|node| match node {
            Node::Element { factory, .. } => Some(factory.as_str()),
            _ => None,
        })
    }

    /// Arguments as gst-launch-1.0 receives them (after the shell): one per token.
    pub fn arguments(&self) -> Vec<String> {
        let mut args = Vec::new();
        for chain in &self.chains {
            for (index, node) in chain.iter().enumerate() {
                if index > 0 {
                    args.push("!".to_owned());
                }
                match node {
                    Node::Element {
                        factory,
                        properties,
                    } => {
                        args.push(factory.clone());
                        args.extend(
                            properties
                                .iter()
                                .map(|(name, value)| format!("{name}={value}")),
                        );
                    }
                    Node::Caps(caps) => args.push(caps.clone()),
                    Node::Pad { element, pad } => args.push(format!("{element}.{pad}")),
                }
            }
        }
        args
    }

    /// The description for `gst::parse::launch`, with property values quoted where needed.
    pub fn description(&self) -> String {
        self.arguments()
            .iter()
            .map(|arg| match arg.split_once('=') {
                Some((name, value)) if !is_caps(arg) && needs_parse_quotes(value) => {
                    format!(
                        "{name}=\"{}\"",
                        value.replace('\\', "\\\\").replace('"', "\\\"")
                    )
                }
                _ => arg.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `gst-launch-1.0 -e <arguments>`, shell-quoted; `-e` turns Ctrl-C into EOS so the
    /// ring's save-on-eos writes the clip.
    pub fn shell_command(&self) -> String {
        let mut words = vec!["gst-launch-1.0".to_owned(), "-e".to_owned()];
        words.extend(self.arguments().iter().map(|arg| shell_quote(arg)));
        words.join(" ")
    }
}

fn is_caps(token: &str) -> bool {
    token.contains('/')
        && token
            .split(',')
            .next()
            .is_some_and(|media| !media.contains('='))
}

fn needs_parse_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || "\"'!,;()".contains(c))
}

fn shell_quote(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:=,+%@!".contains(c));
    if plain && !word.is_empty() {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LaunchLine {
        LaunchLine {
            chains: vec![vec![
                Node::element("videotestsrc").with("is-live", true),
                Node::caps("video/x-raw(memory:D3D11Memory),format=NV12"),
                Node::element("x265enc").with("option-string", "bframes=0:ref=1"),
                Node::element("replayring").with("location", "/tmp/My Replays/replay-%Y.mp4"),
            ]],
        }
    }

    #[test]
    fn the_shell_command_quotes_what_the_shell_would_mangle() {
        assert_eq!(
            sample().shell_command(),
            "gst-launch-1.0 -e videotestsrc is-live=true ! 'video/x-raw(memory:D3D11Memory),format=NV12' \
             ! x265enc option-string=bframes=0:ref=1 ! replayring 'location=/tmp/My Replays/replay-%Y.mp4'"
        );
    }

    #[test]
    fn the_description_quotes_values_for_the_parser() {
        assert_eq!(
            sample().description(),
            "videotestsrc is-live=true ! video/x-raw(memory:D3D11Memory),format=NV12 \
             ! x265enc option-string=bframes=0:ref=1 ! replayring location=\"/tmp/My Replays/replay-%Y.mp4\""
        );
    }

    #[test]
    fn later_chains_follow_and_end_on_a_named_pad() {
        let mut line = LaunchLine::default();
        line.push(Node::element("videotestsrc"));
        line.push(Node::element("replayring").with("name", "ring"));
        line.start_chain();
        line.push(Node::element("audiotestsrc"));
        line.push(Node::caps("audio/x-raw,rate=48000"));
        line.push(Node::pad("ring", "audio_0"));
        assert_eq!(
            line.shell_command(),
            "gst-launch-1.0 -e videotestsrc ! replayring name=ring audiotestsrc ! audio/x-raw,rate=48000 ! ring.audio_0"
        );
        assert_eq!(
            line.description(),
            "videotestsrc ! replayring name=ring audiotestsrc ! audio/x-raw,rate=48000 ! ring.audio_0"
        );
    }
}
