//! `docs/errors.md` is the classification's documentation; these tests keep it true.

use exsync_ews::ResponseCode;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// (first cell, class cell) of every row of the table.
fn table_rows() -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("| EWS code or condition | class | what exsync does |"));
    assert!(lines.next().is_some(), "table header not found");
    assert!(
        lines.next().is_some_and(|l| l.starts_with("|---")),
        "table separator missing"
    );
    lines
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "row without three cells: {l}");
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect()
}

/// The code in a first cell that is exactly one backticked code.
fn single_code(cell: &str) -> Option<&str> {
    let name = cell.strip_prefix('`')?.strip_suffix('`')?;
    let is_code = (name == "NoError" || name.starts_with("Error"))
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    is_code.then_some(name)
}

#[test]
fn every_code_row_states_the_class_the_code_has() {
    let rows = table_rows();
    let mut checked = 0;
    for (cell, class) in &rows {
        let Some(name) = single_code(cell) else {
            continue;
        };
        let code = ResponseCode::from(name);
        assert!(
            !matches!(code, ResponseCode::Other(_)),
            "docs/errors.md names {name}, which ResponseCode has no variant for"
        );
        assert_eq!(
            class.as_str(),
            code.class().name(),
            "docs/errors.md gives {name} the wrong class"
        );
        checked += 1;
    }
    assert!(checked > 50, "only {checked} code rows found");
}

#[test]
fn every_code_with_a_class_of_its_own_has_a_row() {
    let documented: BTreeSet<String> = table_rows()
        .iter()
        .filter_map(|(cell, _)| single_code(cell).map(str::to_owned))
        .collect();
    let missing: Vec<&str> = ResponseCode::KNOWN
        .iter()
        .filter(|c| c.explicit_class().is_some())
        .map(ResponseCode::as_str)
        .filter(|c| !documented.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes with a class but no row in docs/errors.md: {missing:?}"
    );
}

#[test]
fn no_code_has_two_rows() {
    let mut seen = BTreeSet::new();
    for (cell, _) in table_rows() {
        if let Some(name) = single_code(&cell) {
            assert!(seen.insert(name.to_owned()), "{name} has two rows");
        }
    }
}
