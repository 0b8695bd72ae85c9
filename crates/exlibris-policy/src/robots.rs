//! A `robots.txt` evaluator (RFC 9309): groups chosen by user agent, the
//! longest matching `Allow`/`Disallow` rule wins, `Allow` on a tie; `*` and
//! `$` in paths. Used to ask whether AI crawlers may fetch a page.

/// User agents of AI crawlers checked by default.
pub const AI_AGENTS: &[&str] = &[
    "GPTBot",
    "ChatGPT-User",
    "CCBot",
    "Google-Extended",
    "ClaudeBot",
    "anthropic-ai",
    "Applebot-Extended",
    "Bytespider",
    "PerplexityBot",
    "meta-externalagent",
    "cohere-ai",
    "Amazonbot",
];

/// One rule of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `Allow` (true) or `Disallow`.
    pub allow: bool,
    /// The path pattern.
    pub pattern: String,
}

#[derive(Clone, Debug, Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<Rule>,
}

/// A parsed robots.txt.
#[derive(Clone, Debug, Default)]
pub struct Robots {
    groups: Vec<Group>,
}

impl Robots {
    /// Parse a robots.txt; unknown lines are ignored, as crawlers do.
    pub fn parse(text: &str) -> Robots {
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push(Group::default());
                        in_agents = true;
                    }
                    groups.last_mut().expect("pushed").agents.push(value.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut() {
                        // An empty Disallow allows everything: no rule.
                        if !value.is_empty() {
                            g.rules.push(Rule { allow: key == "allow", pattern: value.to_string() });
                        }
                    }
                }
                _ => in_agents = false,
            }
        }
        Robots { groups }
    }

    /// The rules that apply to `agent`: those of every group naming it
    /// (case-insensitively), else those of the `*` groups.
    fn rules_for(&self, agent: &str) -> Vec<&Rule> {
        let agent = agent.to_ascii_lowercase();
        let named: Vec<&Group> = self.groups.iter().filter(|g| g.agents.contains(&agent)).collect();
        let groups = if named.is_empty() {
            self.groups.iter().filter(|g| g.agents.iter().any(|a| a == "*")).collect()
        } else {
            named
        };
        groups.into_iter().flat_map(|g| g.rules.iter()).collect()
    }

    /// Whether `agent` may fetch `path`, and the deciding rule (`None`: no
    /// rule matched, allowed).
    pub fn check(&self, agent: &str, path: &str) -> (bool, Option<Rule>) {
        let mut best: Option<&Rule> = None;
        for r in self.rules_for(agent) {
            if pattern_matches(&r.pattern, path) {
                let better = match best {
                    None => true,
                    Some(b) => {
                        r.pattern.len() > b.pattern.len() || (r.pattern.len() == b.pattern.len() && r.allow)
                    }
                };
                if better {
                    best = Some(r);
                }
            }
        }
        (best.is_none_or(|r| r.allow), best.cloned())
    }

    /// Whether `agent` may fetch `path`.
    pub fn allowed(&self, agent: &str, path: &str) -> bool {
        self.check(agent, path).0
    }
}

/// Match a robots path pattern (`*` any run, `$` end) against a path prefix.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => true,
            Some(b'$') if p.len() == 1 => s.is_empty(),
            Some(b'*') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some(&c) => s.first() == Some(&c) && go(&p[1..], &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "User-agent: *\nDisallow: /private/\nAllow: /private/open\n\nUser-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\nAllow: /public/\n\nuser-agent: gptbot\ndisallow: /extra # merged\n\nUser-agent: Google-Extended\nDisallow:\n";

    #[test]
    fn groups_are_chosen_by_user_agent() {
        let r = Robots::parse(TXT);
        assert!(!r.allowed("GPTBot", "/books/1"));
        assert!(!r.allowed("ccbot", "/books/1"));
        assert!(r.allowed("GPTBot", "/public/a"));
        // an agent without a group of its own falls back to '*'
        assert!(r.allowed("ClaudeBot", "/books/1"));
        assert!(!r.allowed("ClaudeBot", "/private/x"));
        // an empty Disallow allows everything, and '*' rules do not apply
        assert!(r.allowed("Google-Extended", "/private/x"));
        assert_eq!(r.check("gptbot", "/extra/1").1, Some(Rule { allow: false, pattern: "/extra".into() }));
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        let r = Robots::parse(TXT);
        assert!(r.allowed("Other", "/private/open/file"));
        assert!(!r.allowed("Other", "/private/closed"));
        let tie = Robots::parse("User-agent: *\nDisallow: /a\nAllow: /a\n");
        assert!(tie.allowed("x", "/a/b"));
        let wild = Robots::parse("User-agent: *\nDisallow: /*.pdf$\nDisallow: /x*y\n");
        assert!(!wild.allowed("x", "/books/b.pdf"));
        assert!(wild.allowed("x", "/books/b.pdf?dl=1"));
        assert!(!wild.allowed("x", "/x123y/z"));
        assert!(Robots::parse("").allowed("GPTBot", "/"));
    }
}
