//! The two languages of the workbook: English, and French (the seed's language, the
//! bootcamp's). Every sentence a check prints is written in both, side by side, so that the
//! two cannot drift apart: a check that gains a sentence gains it in both at once.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    En,
    Fr,
}

/// `tr!(lang, "english {x}", "français {x}")`: the sentence in `lang`, formatted with the
/// variables in scope (and any arguments after the two sentences).
macro_rules! tr {
    ($lang:expr, $en:literal, $fr:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            $crate::workbook::lang::Lang::En => format!($en $(, $arg)*),
            $crate::workbook::lang::Lang::Fr => format!($fr $(, $arg)*),
        }
    };
}
pub(crate) use tr;
