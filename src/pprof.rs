//! Profiles in pprof's format (profile.proto, gzipped), the format `go tool
//! pprof`, Pyroscope and Parca read: samples with values, each at a stack
//! of locations (address, mapping) whose lines name functions with file and
//! line, inlined functions as extra lines.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use prost::Message;

use crate::stacks::Space;
use crate::sym::Frame;

/// profile.proto's messages, the fields this encoder writes.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        #[prost(int64, tag = "12")]
        pub period: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
        #[prost(message, repeated, tag = "3")]
        pub label: Vec<Label>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(int64, tag = "1")]
        pub key: i64,
        #[prost(int64, tag = "2")]
        pub str: i64,
        #[prost(int64, tag = "3")]
        pub num: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        #[prost(int64, tag = "5")]
        pub filename: i64,
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
    }
}

/// A sample's label: `pid` (a number) or `comm` (a string).
pub enum Label<'a> {
    Num(&'a str, i64),
    Str(&'a str, &'a str),
}

/// Builds one profile: strings, functions, locations and mappings each
/// stored once.
pub struct Builder {
    profile: proto::Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<(String, String), u64>,
    locations: HashMap<(Space, u64), u64>,
    mappings: HashMap<(Space, String), u64>,
}

impl Builder {
    /// A profile whose samples carry `sample_types` values, each (type,
    /// unit) such as ("samples", "count") or ("cpu", "nanoseconds").
    pub fn new(sample_types: &[(&str, &str)], period_type: (&str, &str), period: i64) -> Self {
        let mut b = Builder {
            profile: proto::Profile::default(),
            strings: HashMap::new(),
            functions: HashMap::new(),
            locations: HashMap::new(),
            mappings: HashMap::new(),
        };
        // string_table[0] must be "".
        b.string("");
        b.profile.sample_type = sample_types.iter().map(|&t| b.value_type(t)).collect();
        b.profile.period_type = Some(b.value_type(period_type));
        b.profile.period = period;
        b
    }

    /// When the profile starts (ns since the epoch) and how long it covers.
    pub fn time(&mut self, time_nanos: i64, duration_nanos: i64) {
        self.profile.time_nanos = time_nanos;
        self.profile.duration_nanos = duration_nanos;
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_string());
        self.strings.insert(s.to_string(), i);
        i
    }

    fn value_type(&mut self, (ty, unit): (&str, &str)) -> proto::ValueType {
        proto::ValueType {
            r#type: self.string(ty),
            unit: self.string(unit),
        }
    }

    fn function(&mut self, name: &str, file: Option<&str>) -> u64 {
        let key = (name.to_string(), file.unwrap_or_default().to_string());
        if let Some(&id) = self.functions.get(&key) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let (name, filename) = (self.string(name), self.string(file.unwrap_or_default()));
        self.profile.function.push(proto::Function {
            id,
            name,
            system_name: name,
            filename,
        });
        self.functions.insert(key, id);
        id
    }

    fn mapping(&mut self, space: Space, module: &str) -> u64 {
        let key = (space, module.to_string());
        if let Some(&id) = self.mappings.get(&key) {
            return id;
        }
        let id = self.profile.mapping.len() as u64 + 1;
        let filename = self.string(module);
        self.profile.mapping.push(proto::Mapping {
            id,
            filename,
            has_functions: true,
            has_line_numbers: true,
            ..Default::default()
        });
        self.mappings.insert(key, id);
        id
    }

    fn location(&mut self, space: Space, f: &Frame) -> u64 {
        if let Some(&id) = self.locations.get(&(space, f.addr)) {
            return id;
        }
        let id = self.profile.location.len() as u64 + 1;
        let module = match (&f.module, space) {
            (Some(m), _) => m.clone(),
            (None, Space::Kernel) => "[kernel.kallsyms]".to_string(),
            (None, Space::User(_)) => String::new(),
        };
        let mapping_id = if module.is_empty() {
            0
        } else {
            self.mapping(space, &module)
        };
        // Innermost first: the inlined functions, then the frame's own.
        let mut line = Vec::new();
        for i in &f.inlined {
            let function_id = self.function(&i.name, i.file.as_deref());
            line.push(proto::Line {
                function_id,
                line: i.line.unwrap_or(0).into(),
            });
        }
        if let Some(name) = &f.name {
            let function_id = self.function(name, f.file.as_deref());
            line.push(proto::Line {
                function_id,
                line: f.line.unwrap_or(0).into(),
            });
        }
        self.profile.location.push(proto::Location {
            id,
            mapping_id,
            address: f.addr,
            line,
        });
        self.locations.insert((space, f.addr), id);
        id
    }

    /// Adds a sample: its stack as (space, frames innermost first) parts,
    /// the first part innermost (a kernel stack before the user stack).
    pub fn sample(&mut self, stack: &[(Space, &[Frame])], values: &[i64], labels: &[Label<'_>]) {
        let mut location_id = Vec::new();
        for (space, frames) in stack {
            for f in *frames {
                location_id.push(self.location(*space, f));
            }
        }
        let label = labels
            .iter()
            .map(|l| match l {
                Label::Num(k, n) => proto::Label {
                    key: self.string(k),
                    num: *n,
                    ..Default::default()
                },
                Label::Str(k, s) => proto::Label {
                    key: self.string(k),
                    str: self.string(s),
                    ..Default::default()
                },
            })
            .collect();
        self.profile.sample.push(proto::Sample {
            location_id,
            value: values.to_vec(),
            label,
        });
    }

    /// The profile, gzipped as pprof files are.
    pub fn gzipped(&self) -> Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&self.profile.encode_to_vec())?;
        Ok(gz.finish()?)
    }

    /// Writes the gzipped profile to `path` (replaced as a whole).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp~");
        std::fs::write(&tmp, self.gzipped()?)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("writing the pprof profile {}", path.display()))
    }
}

/// Decodes a gzipped profile (for tests and tools).
pub fn decode(gzipped: &[u8]) -> Result<proto::Profile> {
    use std::io::Read;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gzipped).read_to_end(&mut bytes)?;
    Ok(proto::Profile::decode(bytes.as_slice())?)
}

/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::Inlined;

    #[test]
    fn decodes_back_what_it_encodes() {
        let hot = Frame {
            addr: 0x1189,
            name: Some("burn".into()),
            module: Some("app".into()),
            file: Some("/src/app.c".into()),
            line: Some(12),
            inlined: vec![Inlined {
                name: "leaf".into(),
                file: Some("/src/app.c".into()),
                line: Some(5),
            }],
            ..Default::default()
        };
        let main = Frame {
            addr: 0x11a0,
            name: Some("main".into()),
            module: Some("app".into()),
            ..Default::default()
        };
        let kernel = Frame {
            addr: 0xffff_ffff_8100_0000,
            name: Some("irq_exit".into()),
            ..Default::default()
        };
        let mut b = Builder::new(
            &[("samples", "count"), ("cpu", "nanoseconds")],
            ("cpu", "nanoseconds"),
            10_000_000,
        );
        b.time(1_000, 2_000_000_000);
        let user = [hot.clone(), main.clone()];
        let stack = [(Space::Kernel, &[kernel][..]), (Space::User(42), &user[..])];
        let labels = [Label::Num("pid", 42), Label::Str("comm", "app")];
        b.sample(&stack, &[3, 30_000_000], &labels);
        b.sample(&[(Space::User(42), &user[..])], &[1, 10_000_000], &labels);
        let p = decode(&b.gzipped().unwrap()).unwrap();
        let s = |i: i64| p.string_table[i as usize].as_str();
        assert_eq!(s(0), "");
        assert_eq!(p.sample_type.len(), 2);
        assert_eq!(
            (s(p.sample_type[1].r#type), s(p.sample_type[1].unit)),
            ("cpu", "nanoseconds")
        );
        assert_eq!(
            (p.period, p.time_nanos, p.duration_nanos),
            (10_000_000, 1_000, 2_000_000_000)
        );
        assert_eq!(p.sample.len(), 2);
        assert_eq!(p.sample[0].value, vec![3, 30_000_000]);
        // Locations and functions are shared between samples.
        assert_eq!(p.location.len(), 3);
        assert_eq!(p.sample[1].location_id, p.sample[0].location_id[1..]);
        let loc = |id: u64| &p.location[id as usize - 1];
        let func = |id: u64| &p.function[id as usize - 1];
        // Innermost first: the kernel frame, then the hot function whose
        // first line is the inlined leaf.
        let first = loc(p.sample[0].location_id[0]);
        assert_eq!(s(func(first.line[0].function_id).name), "irq_exit");
        let hot_loc = loc(p.sample[0].location_id[1]);
        assert_eq!(hot_loc.address, 0x1189);
        let names: Vec<&str> = hot_loc
            .line
            .iter()
            .map(|l| s(func(l.function_id).name))
            .collect();
        assert_eq!(names, vec!["leaf", "burn"]);
        assert_eq!((hot_loc.line[0].line, hot_loc.line[1].line), (5, 12));
        assert_eq!(s(func(hot_loc.line[1].function_id).filename), "/src/app.c");
        let mapping = &p.mapping[hot_loc.mapping_id as usize - 1];
        assert_eq!(s(mapping.filename), "app");
        let labels: Vec<(&str, &str, i64)> = p.sample[0]
            .label
            .iter()
            .map(|l| (s(l.key), s(l.str), l.num))
            .collect();
        assert_eq!(labels, vec![("pid", "", 42), ("comm", "app", 0)]);
    }
}
