//! bindsnoop's decoding: libbpf-tools' PROTO names and OPTS letters.

/// libbpf-tools' PROTO column: `TCP`, `UDP`, else `UNK`.
pub fn proto_name(proto: u16) -> &'static str {
    match proto {
        6 => "TCP",
        17 => "UDP",
        _ => "UNK",
    }
}

/// libbpf-tools' OPTS column: bit i of `opts` shows the i-th letter of
/// `FTNRr` (IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT,
/// SO_REUSEADDR, SO_REUSEPORT), a `.` where the bit is clear.
pub fn opts_letters(opts: u8) -> String {
    "FTNRr"
        .chars()
        .enumerate()
        .map(|(i, c)| if opts & (1 << i) != 0 { c } else { '.' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_names() {
        assert_eq!(opts_letters(0), ".....");
        assert_eq!(opts_letters(0x08), "...R.");
        assert_eq!(opts_letters(0x1f), "FTNRr");
        assert_eq!(opts_letters(0x11), "F...r");
        assert_eq!(proto_name(6), "TCP");
        assert_eq!(proto_name(17), "UDP");
        assert_eq!(proto_name(132), "UNK");
    }
}
