//! Compiles every `src/bpf/*.bpf.c` into `$OUT_DIR/<name>.skel.rs` and writes
//! `$OUT_DIR/skels.rs`, which `src/lib.rs` includes as `bpfkit::skel`: adding
//! a BPF program needs no edit here or in the library. A program that defines
//! an `events` map (ring or perf buffer) gets `bpfkit::events::EventMaps`, so
//! `events::stream` takes its skeleton as it is; every skeleton gets
//! `bpfkit::bpf::Drops` (its `drops` map, if it includes drops.bpf.h).

use std::env;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86_64",
        Ok("aarch64") => "arm64",
        Ok(other) => panic!("no vmlinux.h for target arch {other}: add vmlinux/<arch>/vmlinux.h"),
        Err(_) => panic!("CARGO_CFG_TARGET_ARCH is not set"),
    };
    let bpf_dir = manifest.join("src/bpf");
    let vmlinux = manifest.join("vmlinux").join(arch);
    println!("cargo:rerun-if-changed={}", bpf_dir.display());
    println!("cargo:rerun-if-changed={}", vmlinux.display());

    let mut sources: Vec<PathBuf> = fs::read_dir(&bpf_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", bpf_dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.c")))
        .collect();
    sources.sort();

    let (target_define, multiarch) = match arch {
        "x86_64" => ("-D__TARGET_ARCH_x86", "x86_64-linux-gnu"),
        _ => ("-D__TARGET_ARCH_arm64", "aarch64-linux-gnu"),
    };
    // libbpf's usdt.bpf.h includes <linux/errno.h> → <asm/errno.h>, which
    // lives in the multiarch directory that clang does not search for
    // -target bpf (libbpf-tools adds clang's system dirs the same way).
    let multiarch_include = PathBuf::from("/usr/include").join(multiarch);
    let mut index = String::new();
    let mut failures = Vec::new();
    for src in &sources {
        println!("cargo:rerun-if-changed={}", src.display());
        let name = skeleton_name(src);
        let skel = out.join(format!("{name}.skel.rs"));
        let result = SkeletonBuilder::new()
            .source(src)
            .obj(out.join(format!("{name}.bpf.o")))
            .clang_args([
                OsStr::new("-I"),
                vmlinux.as_os_str(),
                OsStr::new("-I"),
                bpf_dir.as_os_str(),
                OsStr::new(target_define),
                OsStr::new("-idirafter"),
                multiarch_include.as_os_str(),
                OsStr::new("-Wall"),
            ])
            .build_and_generate(&skel);
        match result {
            Ok(()) => {
                let _ = writeln!(
                    index,
                    "pub mod {name} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{name}.skel.rs\")); }}"
                );
                // The structs of `<name>.h` cross from BPF to user space as raw
                // bytes: mark them `plain::Plain` so `bpfkit::decode` can copy them.
                // (They hold only integers and char arrays; see src/bpf/README.)
                for ty in shared_structs(&bpf_dir.join(format!("{name}.h"))) {
                    let _ = writeln!(
                        index,
                        "unsafe impl plain::Plain for {name}::types::{ty} {{}}"
                    );
                }
                // A program whose events carry a `struct dir_path` (path.h):
                // `bpfkit::fmt::join_dir_path` takes it as it is.
                let header = fs::read_to_string(bpf_dir.join(format!("{name}.h")));
                if header.is_ok_and(|h| h.contains("#include \"path.h\"")) {
                    let _ = writeln!(
                        index,
                        "impl crate::fmt::DirPath for {name}::types::dir_path {{ \
                         fn parts(&self) -> (&[i8], u32, bool, bool) {{ \
                         (&self.names, self.depth, self.truncated != 0, self.failed != 0) }} }}"
                    );
                }
                let text = fs::read_to_string(src).unwrap_or_default();
                let camel = camel_case(&name);
                let drops = if text.contains("#include \"drops.bpf.h\"") {
                    "Some(&self.maps.drops)"
                } else {
                    "None"
                };
                let _ = writeln!(
                    index,
                    "impl crate::bpf::Drops for {name}::{camel}Skel<'_> {{ \
                     fn drops(&self) -> Option<&libbpf_rs::MapMut<'_>> {{ {drops} }} }}"
                );
                if text.contains("} events SEC(\".maps\")") {
                    let _ = writeln!(
                        index,
                        "impl crate::events::EventMaps for {name}::{camel}Skel<'_> {{ \
                         fn events(&self) -> &libbpf_rs::MapMut<'_> {{ &self.maps.events }} }}"
                    );
                }
            }
            // `{:#}` keeps anyhow's cause chain, which holds clang's stderr.
            Err(e) => failures.push(format!("{}: {e:#}", src.display())),
        }
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("{f}");
        }
        panic!(
            "{} BPF program(s) failed to compile:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    fs::write(out.join("skels.rs"), index).expect("writing skels.rs");
    if env::var_os("CARGO_FEATURE_STATIC").is_some() {
        link_static_libelf_deps();
    }
}

/// Feature `static`: libbpf-sys links libelf and zlib statically, but not
/// what libelf itself needs besides zlib (zstd since elfutils 0.189, e.g.
/// Debian 13): ask pkg-config for libelf's static libraries and link the
/// rest statically too. Without crt-static glibc stays dynamic: say so.
fn link_static_libelf_deps() {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let pkg_config = |args: &[&str]| match std::process::Command::new("pkg-config")
        .args(args)
        .arg("libelf")
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => panic!("feature `static`: `pkg-config {args:?} libelf` failed (install libelf-dev)"),
    };
    // rustc looks for static libraries only in -L directories.
    println!(
        "cargo:rustc-link-search=native={}",
        pkg_config(&["--variable=libdir"])
    );
    let libs = pkg_config(&["--static", "--libs-only-l"]);
    for lib in libs.split_whitespace().filter_map(|l| l.strip_prefix("-l")) {
        if lib != "elf" && lib != "z" {
            println!("cargo:rustc-link-lib=static={lib}");
        }
    }
    let target_features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !target_features.split(',').any(|f| f == "crt-static") {
        println!(
            "cargo:warning=feature `static` without `-C target-feature=+crt-static`: \
             glibc stays dynamic (`make STATIC=1` sets both)"
        );
    }
}

/// Names of the structs a tool's shared header defines (`struct event {`).
fn shared_structs(header: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(header) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("struct ")?.strip_suffix('{'))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

/// `open_snoop` → `OpenSnoop`, the prefix of libbpf-cargo's skeleton types.
fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `src/bpf/open_snoop.bpf.c` → `open_snoop` (a Rust module name, hence `_` only).
fn skeleton_name(src: &Path) -> String {
    let file = src.file_name().and_then(OsStr::to_str).unwrap_or_default();
    let name = file.trim_end_matches(".bpf.c");
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{file}: BPF file names may use only [A-Za-z0-9_] (they become Rust module names)"
    );
    name.to_string()
}
