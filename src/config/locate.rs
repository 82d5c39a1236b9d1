//! Maps between key paths and places in the TOML text, so that errors found
//! after parsing still point at a line and column.

use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

use super::error::Seg;

pub struct Source<'a> {
    text: &'a str,
    doc: Option<Document<&'a str>>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        Source {
            text,
            doc: Document::parse(text).ok(),
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// Where a key path stands: its key if it has one, else its value.
    pub fn find(&self, path: &[Seg]) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut table: Option<&dyn TableLike> = Some(doc.as_table());
        let mut item: Option<&Item> = None;
        let mut best = None;
        for seg in path {
            match seg {
                Seg::Key(k) => {
                    let (key, next) = table?.get_key_value(k)?;
                    best = key.span().or_else(|| next.span()).or(best);
                    table = next.as_table_like();
                    item = Some(next);
                }
                Seg::Index(i) => {
                    let it = item.take()?;
                    if it.as_array().is_none() && it.as_array_of_tables().is_none() && *i == 0 {
                        // `enter = { ... }` is a one-hook list: index 0 is the table itself.
                        item = Some(it);
                        continue;
                    }
                    if let Some(tables) = it.as_array_of_tables() {
                        let t = tables.get(*i)?;
                        best = t.span().or(best);
                        table = Some(t);
                    } else {
                        let v = it.as_array()?.get(*i)?;
                        best = v.span().or(best);
                        table = v.as_inline_table().map(|t| t as &dyn TableLike);
                    }
                }
            }
        }
        best
    }

    /// The deepest key path whose key or value covers `offset`.
    pub fn path_at(&self, offset: usize) -> Vec<Seg> {
        let mut best = Vec::new();
        if let Some(doc) = &self.doc {
            walk(doc.as_table(), offset, &mut Vec::new(), &mut best);
        }
        best
    }
}

fn walk(table: &dyn TableLike, offset: usize, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    for (name, _) in table.iter() {
        let Some((key, item)) = table.get_key_value(name) else {
            continue;
        };
        path.push(Seg::Key(name.to_string()));
        let covers = |r: Option<Range<usize>>| r.is_some_and(|r| r.contains(&offset));
        if (covers(key.span()) || covers(item.span())) && path.len() > best.len() {
            *best = path.clone();
        }
        walk_item(item, offset, path, best);
        path.pop();
    }
}

fn walk_item(item: &Item, offset: usize, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    match item {
        Item::Table(t) => walk(t, offset, path, best),
        Item::ArrayOfTables(tables) => {
            for (i, t) in tables.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(t, offset, path, best);
                path.pop();
            }
        }
        Item::Value(v) => walk_value(v, offset, path, best),
        Item::None => {}
    }
}

fn walk_value(value: &Value, offset: usize, path: &mut Vec<Seg>, best: &mut Vec<Seg>) {
    match value {
        Value::InlineTable(t) => walk(t, offset, path, best),
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if v.span().is_some_and(|r| r.contains(&offset)) && path.len() > best.len() {
                    *best = path.clone();
                }
                walk_value(v, offset, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}
