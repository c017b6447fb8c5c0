//! Datadog's message template variables: `{{value}}`, `{{threshold}}`, `{{host.name}}` (any
//! group tag as `{{<key>.name}}`), and the conditional sections `{{#is_alert}}..{{/is_alert}}`,
//! `{{^is_alert}}..{{/is_alert}}`, `{{#is_recovery}}`, `{{#is_warning}}`, `{{#is_no_data}}`...
//!
//! Hand-written: it looks like Mustache but is not (Datadog's `{{#is_match "tag" "x"}}` takes
//! arguments, and an unknown section is false rather than an error), and it is a few dozen
//! lines over a flat token list.

use std::collections::HashMap;

/// What a message can refer to.
#[derive(Debug, Default)]
pub struct Context {
    pub values: HashMap<String, String>,
    pub flags: HashMap<&'static str, bool>,
}

enum Token<'a> {
    Text(&'a str),
    Var(&'a str),
    Open { name: &'a str, inverted: bool },
    Close,
}

fn tokens(template: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        if start > 0 {
            out.push(Token::Text(&rest[..start]));
        }
        let inner = rest[start + 2..start + 2 + len].trim();
        out.push(if let Some(name) = inner.strip_prefix('#') {
            Token::Open {
                name: section_name(name),
                inverted: false,
            }
        } else if let Some(name) = inner.strip_prefix('^') {
            Token::Open {
                name: section_name(name),
                inverted: true,
            }
        } else if inner.starts_with('/') {
            Token::Close
        } else {
            Token::Var(inner)
        });
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest));
    }
    out
}

/// `is_match "host" "lab"` names the section `is_match`; its arguments are not supported.
fn section_name(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

pub fn render(template: &str, ctx: &Context) -> String {
    let mut out = String::with_capacity(template.len());
    // One entry per open section: whether its content is shown.
    let mut shown: Vec<bool> = Vec::new();
    for token in tokens(template) {
        let visible = shown.iter().all(|s| *s);
        match token {
            Token::Text(t) if visible => out.push_str(t),
            Token::Var(name) if visible => {
                if let Some(v) = ctx.values.get(name) {
                    out.push_str(v);
                }
            }
            Token::Open { name, inverted } => {
                let on = ctx.flags.get(name).copied().unwrap_or(false);
                shown.push(on != inverted);
            }
            Token::Close => {
                shown.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(alert: bool) -> Context {
        let mut c = Context::default();
        c.values.insert("host.name".into(), "lab".into());
        c.values.insert("value".into(), "93.5".into());
        c.values.insert("threshold".into(), "80".into());
        c.flags.insert("is_alert", alert);
        c.flags.insert("is_recovery", !alert);
        c
    }

    #[test]
    fn the_seeds_message_renders_as_datadog_would() {
        let msg = "High CPU usage detected on {{host.name}}";
        assert_eq!(render(msg, &ctx(true)), "High CPU usage detected on lab");
    }

    #[test]
    fn sections_show_by_transition() {
        let msg = "{{#is_alert}}CPU {{value}} > {{threshold}}{{/is_alert}}{{#is_recovery}}back to normal{{/is_recovery}}{{^is_alert}} (no page){{/is_alert}} @webhook-lab";
        assert_eq!(render(msg, &ctx(true)), "CPU 93.5 > 80 @webhook-lab");
        assert_eq!(
            render(msg, &ctx(false)),
            "back to normal (no page) @webhook-lab"
        );
    }

    #[test]
    fn unknown_names_render_empty_and_broken_braces_stay() {
        assert_eq!(
            render(
                "a {{nope}} b {{#is_match \"x\" \"y\"}}c{{/is_match}} {{open",
                &ctx(true)
            ),
            "a  b  {{open"
        );
    }
}
