//! fentry on functions of kernel modules (ext4, xfs, btrfs... are modules in
//! distribution kernels): the function is found in a module's split BTF
//! (CONFIG_DEBUG_INFO_BTF_MODULES) and the kernel must accept a trial
//! fentry program against it, as [`crate::probe::fentry_can_attach_all`]
//! does for vmlinux functions.

use std::ffi::CString;

use crate::probe::FentrySupport;

/// fentry support for each of `funcs` (none of them in vmlinux BTF): in a
/// module's BTF and accepted by the kernel, else `NotInBtf` or `Refused`.
/// vmlinux BTF and each module's BTF are read once for all of them (under
/// emulation a read per function took seconds).
pub fn fentry_support(funcs: &[&str]) -> Vec<FentrySupport> {
    let names: Vec<Option<CString>> = funcs.iter().map(|f| CString::new(*f).ok()).collect();
    let mut result = vec![FentrySupport::NotInBtf; funcs.len()];
    let mut left = names.iter().filter(|n| n.is_some()).count();
    // SAFETY: plain libbpf C calls on pointers checked for NULL, each BTF
    // freed and each fd closed once.
    unsafe {
        let base = libbpf_sys::btf__load_vmlinux_btf();
        if base.is_null() {
            return result;
        }
        let mut id = 0u32;
        while left > 0 && libbpf_sys::bpf_btf_get_next_id(id, &mut id) == 0 {
            let fd = libbpf_sys::bpf_btf_get_fd_by_id(id);
            if fd < 0 {
                continue;
            }
            let mut btf_name = [0u8; 64];
            let mut info: libbpf_sys::bpf_btf_info = std::mem::zeroed();
            info.name = btf_name.as_mut_ptr() as u64;
            info.name_len = btf_name.len() as u32;
            let mut len = std::mem::size_of::<libbpf_sys::bpf_btf_info>() as u32;
            let is_module = libbpf_sys::bpf_btf_get_info_by_fd(fd, &mut info, &mut len) == 0
                && info.kernel_btf != 0
                && !btf_name.starts_with(b"vmlinux\0");
            let btf = if is_module {
                libbpf_sys::btf__load_from_kernel_by_id_split(id, base)
            } else {
                std::ptr::null_mut()
            };
            if !btf.is_null() {
                for (i, name) in names.iter().enumerate() {
                    let Some(name) = name else { continue };
                    if result[i] != FentrySupport::NotInBtf {
                        continue;
                    }
                    let t = libbpf_sys::btf__find_by_name_kind(
                        btf,
                        name.as_ptr(),
                        libbpf_sys::BTF_KIND_FUNC,
                    );
                    if t > 0 {
                        result[i] = crate::probe::trial_tracing_program_in(
                            fd,
                            t as u32,
                            libbpf_sys::BPF_TRACE_FENTRY,
                        );
                        left -= 1;
                    }
                }
                libbpf_sys::btf__free(btf);
            }
            libc::close(fd);
        }
        libbpf_sys::btf__free(base);
    }
    result
}
