//! Simulated shared memory for programs: addresses handed out from a region,
//! line-aligned by default so that variables do not share lines by accident;
//! `packed` puts several words on one line, to show false sharing on purpose.

/// Hands out simulated addresses from `base` up.
#[derive(Clone, Debug)]
pub struct Alloc {
    next: u64,
    line: u64,
}

impl Alloc {
    /// Addresses from `base` (rounded up to a line) for lines of `line` bytes (a
    /// power of two, at least a word).
    pub fn new(base: u64, line: u64) -> Self {
        assert!(line.is_power_of_two() && line >= 8, "line size {line}");
        Alloc { next: base.next_multiple_of(line), line }
    }

    /// One word on a line of its own.
    pub fn word(&mut self) -> u64 {
        self.lines(1)
    }

    /// `n` whole lines, back to back; the address of the first.
    pub fn lines(&mut self, n: u64) -> u64 {
        let at = self.next;
        self.next += n.max(1) * self.line;
        at
    }

    /// `n` words, each on a line of its own (an array of padded slots): the
    /// address of slot 0; slot `i` is at `base + i * line`.
    pub fn padded(&mut self, n: u64) -> u64 {
        self.lines(n)
    }

    /// `n` words packed side by side from a line's start (word `i` at `base + 8
    /// i`): they share lines, so writes by different cores falsely share.
    pub fn packed(&mut self, n: u64) -> u64 {
        self.lines((8 * n).div_ceil(self.line))
    }

    /// The line size addresses are aligned to.
    pub fn line(&self) -> u64 {
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_get_lines_of_their_own_unless_packed() {
        let mut a = Alloc::new(0x1001, 64);
        let (x, y) = (a.word(), a.word());
        assert_eq!((x, y), (0x1040, 0x1080));
        let p = a.packed(10); // 80 bytes: two lines
        assert_eq!((p, a.word()), (0x10c0, 0x1140));
        let s = a.padded(3);
        assert_eq!((s, a.word()), (0x1180, 0x1240));
        assert_eq!(a.line(), 64);
    }
}
