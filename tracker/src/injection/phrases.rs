//! The words and phrases the rules look for: data only, kept apart from the logic so that
//! tuning a list (a new jailbreak phrase, a false positive to avoid) never touches how
//! matching works. Every entry is in normalised form (see `normalise`): lowercase, words
//! separated by single spaces, apostrophes already word breaks (`you re`, `don`), except
//! [`CHAT_TOKENS`], which are compared against the text with its whitespace removed.
//!
//! The order follows the rules: strong signals first, in the order they are checked, then
//! the weak ones.

use super::normalise::{Slot, one, upto};

// ---------------------------------------------------------------------------------------
// Strong signals

pub(super) const OVERRIDE_VERBS: &[&str] = &[
    "ignore",
    "ignoring",
    "disregard",
    "disregarding",
    "forget",
    "forgetting",
    "override",
    "bypass",
    "skip",
];
pub(super) const DETERMINERS: &[&str] = &[
    "all", "any", "the", "your", "of", "my", "these", "those", "every", "and",
];
pub(super) const EARLIER: &[&str] = &[
    "previous",
    "previously",
    "prior",
    "above",
    "earlier",
    "preceding",
    "original",
    "initial",
];
pub(super) const EARLIER_OR_FILLER: &[&str] = &[
    "previous",
    "prior",
    "above",
    "earlier",
    "preceding",
    "original",
    "initial",
    "system",
    "given",
    "ai",
    "and",
    "or",
];
pub(super) const INSTRUCTIONS: &[&str] = &[
    "instructions",
    "instruction",
    "prompts",
    "prompt",
    "rules",
    "directions",
    "directives",
    "commands",
];
pub(super) const AFTERWARDS: &[&str] = &["above", "before", "given", "so", "previously", "earlier"];

pub(super) const OVERRIDE: &[Slot] = &[
    one(OVERRIDE_VERBS),
    upto(3, DETERMINERS),
    one(EARLIER),
    upto(2, EARLIER_OR_FILLER),
    one(INSTRUCTIONS),
];
/// `ignore all instructions above`, `disregard the rules given before`.
pub(super) const OVERRIDE_AFTER: &[Slot] = &[
    one(OVERRIDE_VERBS),
    upto(3, DETERMINERS),
    one(INSTRUCTIONS),
    one(AFTERWARDS),
];
/// `do not follow your previous instructions`, `stop following the prior rules`.
pub(super) const OVERRIDE_FOLLOW: &[Slot] = &[
    one(&["not", "t", "dont", "stop", "no"]),
    one(&["follow", "following", "obey", "obeying"]),
    upto(3, DETERMINERS),
    one(EARLIER),
    upto(2, EARLIER_OR_FILLER),
    one(INSTRUCTIONS),
];

/// Compared against the text with whitespace removed.
pub(super) const CHAT_TOKENS: &[&str] = &[
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "[inst]",
    "[/inst]",
    "<<sys>>",
    "<</sys>>",
    "<start_of_turn>",
    "<end_of_turn>",
    "###instruction:",
    "###instructions:",
    "###system:",
];

pub(super) const SYSTEM_PROMPT: &[&str] = &[
    "system prompt",
    "system prompts",
    "developer message",
    "developer prompt",
];

pub(super) const NEGATIONS: &[&str] = &["not", "t", "dont", "never", "without"];
pub(super) const TELL: &[&str] = &[
    "tell",
    "telling",
    "inform",
    "informing",
    "mention",
    "mentioning",
    "reveal",
    "revealing",
];
pub(super) const TELL_FILLER: &[&str] = &[
    "this", "it", "that", "anything", "about", "to", "of", "the", "any", "them", "these",
];
pub(super) const USER: &[&str] = &["user", "users", "human"];
pub(super) const COVERT_TELL: &[Slot] = &[
    one(NEGATIONS),
    upto(1, &["to", "ever", "be"]),
    one(TELL),
    upto(3, TELL_FILLER),
    one(USER),
];
pub(super) const COVERT_LET: &[Slot] = &[
    one(NEGATIONS),
    one(&["let", "letting"]),
    upto(1, &["the", "your"]),
    one(USER),
    upto(1, &["ever"]),
    one(&["know", "see", "notice"]),
];
pub(super) const COVERT_PHRASES: &[&str] = &[
    "secretly",
    "covertly",
    "without the user knowing",
    "without the user noticing",
    "without the user s knowledge",
    "without the users knowledge",
    "without the user s consent",
    "hide this from the user",
    "hide it from the user",
    "keep this from the user",
    "keep this secret from the user",
    "keep this hidden from the user",
    "the user must not know",
    "the user should not know",
    "the user must never know",
];

// Naming one of the tools (the fifth strong signal) has no list here: the names are the
// caller's, given to `InjectionCheck::new`, so that the tracker need not know what tools
// the bridge offers.

pub(super) const SEND_VERBS: &[&str] = &[
    "send", "email", "mail", "upload", "post", "forward", "transmit", "share", "leak", "copy",
    "paste", "submit", "export", "sync", "push", "deliver", "dump",
];
pub(super) const TO_WORDS: &[&str] = &["to", "at", "via", "into", "on"];
/// Secrets and whole-document contents.
pub(super) const SECRETS: &[&[&str]] = &[
    &["the", "contents"],
    &["contents", "of"],
    &["full", "contents"],
    &["entire", "workbook"],
    &["entire", "sheet"],
    &["entire", "spreadsheet"],
    &["entire", "file"],
    &["entire", "document"],
    &["entire", "conversation"],
    &["whole", "workbook"],
    &["whole", "sheet"],
    &["whole", "spreadsheet"],
    &["whole", "file"],
    &["whole", "document"],
    &["all", "the", "data"],
    &["all", "of", "the", "data"],
    &["all", "data"],
    &["every", "cell"],
    &["all", "cells"],
    &["all", "rows"],
    &["chat", "history"],
    &["conversation", "history"],
    &["your", "context"],
    &["your", "instructions"],
    &["api", "key"],
    &["api", "keys"],
    &["access", "token"],
    &["access", "tokens"],
    &["bearer", "token"],
    &["secret", "key"],
    &["private", "key"],
    &["password"],
    &["passwords"],
    &["credentials"],
];

pub(super) const ADDRESS_PHRASES: &[&str] = &[
    "dear ai",
    "dear claude",
    "dear chatgpt",
    "dear gpt",
    "dear llm",
    "dear language model",
    "dear chatbot",
    "dear copilot",
    "hey ai",
    "hey claude",
    "hi claude",
    "hello claude",
    "hey chatgpt",
    "hi chatgpt",
    "hello chatgpt",
    "hey copilot",
    "note to ai",
    "note to the ai",
    "note for ai",
    "note for the ai",
    "message to the ai",
    "message for the ai",
    "attention ai",
    "if you are an ai",
    "if you re an ai",
    "if you are a language model",
    "if you are a large language model",
    "if you are an llm",
    "if you are a chatbot",
    "if you are an assistant",
    "if you are an automated",
];
pub(super) const READING_THIS: &[Slot] = &[
    one(&[
        "ai",
        "agent",
        "agents",
        "assistant",
        "model",
        "llm",
        "bot",
        "chatbot",
    ]),
    one(&[
        "reading",
        "processing",
        "summarizing",
        "summarising",
        "analyzing",
        "analysing",
        "parsing",
        "viewing",
        "scanning",
    ]),
    one(&["this", "these"]),
];
/// Names that, opening a line with `,` or `:`, address an AI.
pub(super) const VOCATIVE_NAMES: &[&str] = &[
    "ai assistant",
    "ai agent",
    "ai model",
    "assistant ai",
    "chatgpt",
    "gpt",
    "llm",
    "language model",
    "chatbot",
    "claude",
    "copilot",
    "gemini",
];
/// The word after a vocative that makes it an order.
pub(super) const VOCATIVE_NEXT: &[&str] = &[
    "please",
    "you",
    "your",
    "ignore",
    "disregard",
    "forget",
    "do",
    "don",
    "dont",
    "now",
    "from",
    "when",
    "before",
    "after",
    "make",
    "stop",
    "never",
    "always",
    "remember",
    "write",
    "send",
    "email",
    "delete",
    "remove",
    "call",
    "use",
    "update",
    "change",
    "tell",
    "say",
    "summarise",
    "summarize",
    "add",
    "set",
    "act",
    "pretend",
    "answer",
    "reply",
    "respond",
    "output",
    "print",
    "list",
    "reveal",
    "export",
    "upload",
    "i",
    "we",
    "this",
    "here",
    "important",
    "note",
    "treat",
    "mark",
    "report",
    "include",
    "append",
    "rewrite",
    "copy",
];

// ---------------------------------------------------------------------------------------
// Weak signals

pub(super) const QUIET: &[&str] = &["quietly", "silently"];
pub(super) const CALL_TOOL: &[&str] = &[
    "call the tool",
    "use the tool",
    "invoke the tool",
    "run the tool",
    "call this tool",
    "call the function",
    "invoke the function",
    "tool call",
    "function call",
];
pub(super) const ROLE_CHANGE: &[&str] = &[
    "you are now",
    "you re now",
    "act as",
    "pretend to be",
    "pretend you are",
    "pretend that you are",
    "roleplay as",
    "role play as",
    "you are no longer",
    "behave as",
    "impersonate",
];
pub(super) const JAILBREAK: &[&str] = &[
    "jailbreak",
    "jailbroken",
    "developer mode",
    "dan mode",
    "do anything now",
    "no restrictions",
    "without restrictions",
    "without any restrictions",
    "without limitations",
    "unrestricted ai",
    "unrestricted assistant",
    "unrestricted mode",
    "unfiltered",
    "safety filters",
    "safety guidelines",
];
/// Followed by a colon.
pub(super) const NEW_INSTRUCTIONS: &[&str] = &[
    "new instructions",
    "new instruction",
    "updated instructions",
    "revised instructions",
    "real instructions",
    "important instructions",
    "additional instructions",
];
pub(super) const ROLE_MARKERS: &[&str] =
    &["system", "assistant", "user", "human", "ai", "developer"];
pub(super) const AI_NAMES: &[&str] = &[
    "ai assistant",
    "ai assistants",
    "ai agent",
    "ai agents",
    "ai model",
    "language model",
    "large language model",
    "llm",
    "chatgpt",
    "chatbot",
    "the assistant",
    "the ai",
];
pub(super) const ORDERS: &[&str] = &[
    "you must",
    "you should",
    "you need to",
    "you have to",
    "you are to",
    "you will now",
    "your task",
    "your job",
    "your goal",
    "your new",
    "your real",
    "from now on",
    "respond only",
    "reply only",
    "answer only",
    "respond with",
    "reply with",
    "in your response",
    "in your reply",
    "in your answer",
    "in your summary",
    "when you summarize",
    "when you summarise",
    "do not mention",
    "never mention",
    "do not reveal",
    "never reveal",
    "follow these instructions",
    "follow the instructions",
];
