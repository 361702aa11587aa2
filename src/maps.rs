//! Reading whole BPF hash maps from user space: [`dump`] copies every entry
//! (in batches where the kernel can), [`drain`] takes every entry out. Both
//! decode keys and values as the skeleton's types.

use std::os::fd::AsRawFd;

use anyhow::{Result, anyhow, bail};
use libbpf_rs::{MapCore, MapFlags};

/// Every key of a hash map, each once, in byte order. A walk restarts from
/// the first key when BPF deletes the current one, and can yield a key twice
/// while BPF inserts.
pub fn keys(map: &dyn MapCore) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = map.keys().collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Every (key, value) of a hash map, decoded; entries whose bytes do not
/// decode are skipped. Read in batches where the kernel can (5.6+), one
/// lookup per key otherwise.
pub fn dump<K, V>(map: &dyn MapCore) -> Result<Vec<(K, V)>>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    Ok(decoded(dump_raw(map)?))
}

/// Takes every entry out of a hash map, decoded: the read-print-clear step
/// of interval tools (each interval starts afresh, as in libbpf-tools).
/// Each entry is read and removed in one step where the kernel can (5.14+),
/// so nothing counted between the two is lost; older kernels refuse that for
/// hash maps, and get lookup then delete, as libbpf-tools does.
/// Entries whose bytes do not decode are dropped with the rest.
pub fn drain<K, V>(map: &dyn MapCore) -> Result<Vec<(K, V)>>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    let name = map_name(map);
    let mut entries = Vec::new();
    for key in keys(map) {
        let value = match map.lookup_and_delete(&key) {
            Ok(v) => v,
            Err(_) => {
                let v = map
                    .lookup(&key, MapFlags::ANY)
                    .map_err(|e| anyhow!("reading map {name}: {e}"))?;
                let _ = map.delete(&key);
                v
            }
        };
        // A key deleted between the walk and the lookup is simply gone.
        if let Some(value) = value {
            entries.push((key, value));
        }
    }
    Ok(decoded(entries))
}

fn map_name(map: &dyn MapCore) -> String {
    map.name().to_string_lossy().into_owned()
}

fn decoded<K, V>(raw: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(K, V)>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    raw.iter()
        .filter_map(|(k, v)| Some((crate::decode::<K>(k)?, crate::decode::<V>(v)?)))
        .collect()
}

/// What one `BPF_MAP_LOOKUP_BATCH` call did.
enum Batch {
    /// `n` entries read, more to come.
    More(usize),
    /// `n` entries read, the map is done.
    Done(usize),
    /// Failed with this errno.
    Failed(i32),
}

/// One `BPF_MAP_LOOKUP_BATCH`: up to `count` entries into `keys`/`values`
/// (sized for `count` entries), resuming after `in_token` (none: from the
/// start) and leaving the next resume point in `out_token`.
fn lookup_batch(
    map: &dyn MapCore,
    in_token: Option<&mut [u8]>,
    out_token: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: usize,
) -> Batch {
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    let (ks, vs) = (map.key_size() as usize, map.value_size() as usize);
    // The buffers must hold what the kernel may write.
    if keys.len() < ks * count || values.len() < vs * count || out_token.len() < ks.max(4) {
        return Batch::Failed(libc::EFAULT);
    }
    let mut n = count as u32;
    let in_ptr = in_token.map_or(std::ptr::null_mut(), |t| t.as_mut_ptr().cast());
    // SAFETY: the buffers hold `count` keys/values of the map's sizes and
    // the tokens at least a key (and the kernel's 4-byte bucket index), as
    // the syscall requires; all outlive the call.
    let ret = unsafe {
        libbpf_sys::bpf_map_lookup_batch(
            map.as_fd().as_raw_fd(),
            in_ptr,
            out_token.as_mut_ptr().cast(),
            keys.as_mut_ptr().cast(),
            values.as_mut_ptr().cast(),
            &mut n,
            &opts,
        )
    };
    let n = (n as usize).min(count);
    match if ret < 0 { -ret } else { 0 } {
        0 => Batch::More(n),
        libc::ENOENT => Batch::Done(n),
        e => Batch::Failed(e),
    }
}

/// Every (key, value) of a hash map as bytes.
pub fn dump_raw(map: &dyn MapCore) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let (ks, vs) = (map.key_size() as usize, map.value_size() as usize);
    let mut batch: usize = 4096;
    let mut out = Vec::new();
    // The kernel's resume token for hash maps is a 4-byte bucket index.
    let mut in_token: Option<Vec<u8>> = None;
    let mut out_token = vec![0u8; ks.max(4)];
    loop {
        let mut keys = vec![0u8; ks * batch];
        let mut values = vec![0u8; vs * batch];
        let result = lookup_batch(
            map,
            in_token.as_deref_mut(),
            &mut out_token,
            &mut keys,
            &mut values,
            batch,
        );
        let (n, done) = match result {
            Batch::More(n) => (n, false),
            Batch::Done(n) => (n, true),
            // A bucket holds more than a batch: retry with a bigger one.
            Batch::Failed(libc::ENOSPC) if batch < (1 << 20) => {
                batch *= 2;
                continue;
            }
            Batch::Failed(libc::EINTR | libc::EAGAIN) => continue,
            // Batch operations unsupported (before 5.6): one by one.
            Batch::Failed(libc::EINVAL | libc::EOPNOTSUPP | 524) if in_token.is_none() => {
                return dump_one_by_one(map);
            }
            Batch::Failed(e) => bail!(
                "reading map {}: {}",
                map_name(map),
                std::io::Error::from_raw_os_error(e)
            ),
        };
        for i in 0..n {
            out.push((
                keys[i * ks..(i + 1) * ks].to_vec(),
                values[i * vs..(i + 1) * vs].to_vec(),
            ));
        }
        if done {
            return Ok(out);
        }
        in_token = Some(out_token.clone());
    }
}

fn dump_one_by_one(map: &dyn MapCore) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for key in keys(map) {
        let value = map
            .lookup(&key, MapFlags::ANY)
            .map_err(|e| anyhow!("reading map {}: {e}", map_name(map)))?;
        // A key freed between the walk and the lookup is simply gone.
        if let Some(v) = value {
            out.push((key, v));
        }
    }
    Ok(out)
}
