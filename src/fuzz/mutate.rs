//! Mutations: a small PRNG (xorshift64*) and the edits that turn one input into the next
//! (bit flips, byte edits, deletions, copies, splices between inputs, interesting tokens,
//! very long runs).

/// The longest input a mutation makes: above the 70,000-character value of issue 11,
/// below what would make one execution slow.
const MAX_LEN: usize = 128 * 1024;

/// Tokens every target gets: the bytes that break parsers.
const TOKENS: &[&[u8]] = &[
    b"=",
    b"\"",
    b"'",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"\\u0000",
    b"\0",
    b"\\",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b"#",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"9223372036854775808",
    b"-1",
    b"0",
    b"1e309",
    b"nan",
    b"-inf",
    b"0.000000001",
];

/// A xorshift64* generator: tiny, fast, and the same sequence for the same seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; mixed so that small seeds differ well).
    pub fn new(seed: u64) -> Rng {
        let mixed = (seed ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        Rng(mixed | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next() % n as u64) as usize
    }

    /// True once in `n` times.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// A new input: one of `pool`, edited one to four times. Half the time it is one of the
/// first `seeds` (the corpus), however large the pool has grown.
pub fn mutate(rng: &mut Rng, pool: &[Vec<u8>], seeds: usize, tokens: &[&[u8]]) -> Vec<u8> {
    let from = if rng.one_in(2) { seeds } else { pool.len() };
    let mut data = pool[rng.below(from.clamp(1, pool.len()))].clone();
    for _ in 0..=rng.below(4) {
        edit(rng, &mut data, pool, tokens);
    }
    data.truncate(MAX_LEN);
    data
}

/// One edit of `data`.
fn edit(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>], tokens: &[&[u8]]) {
    let at = rng.below(data.len() + 1);
    let last = data.len().saturating_sub(1);
    match rng.below(10) {
        0 if !data.is_empty() => data[at.min(last)] ^= 1 << rng.below(8),
        1 if !data.is_empty() => data[at.min(last)] = rng.next() as u8,
        2 => data.insert(at, rng.next() as u8),
        3 => {
            let most = if rng.one_in(4) { 256 } else { 8 };
            let len = 1 + rng.below(most);
            data.drain(at..(at + len).min(data.len()));
        }
        4 | 5 => {
            let token = token(rng, tokens);
            data.splice(at..at, token.iter().copied());
        }
        6 => {
            let other = &pool[rng.below(pool.len())];
            let from = rng.below(other.len() + 1);
            let len = rng.below(other.len() - from + 1);
            let piece = other[from..from + len].to_vec();
            if rng.one_in(2) {
                data.truncate(at);
            }
            data.splice(at..at, piece);
        }
        7 => number(rng, data, at),
        8 => {
            let from = rng.below(data.len() + 1);
            let len = rng.below((data.len() - from).min(64) + 1);
            let piece = data[from..from + len].to_vec();
            data.splice(at..at, piece);
        }
        _ => {
            let unit = if rng.one_in(2) {
                vec![b'a' + rng.below(26) as u8]
            } else {
                token(rng, tokens).to_vec()
            };
            // Very long runs are rare: each makes every later execution from it slower.
            let long = if rng.one_in(8) { 70_000 } else { 4096 };
            let count = [16, 300, long][rng.below(3)] / unit.len().max(1);
            let run: Vec<u8> = unit.repeat(count.max(1));
            data.splice(at..at, run);
        }
    }
}

/// Numbers worth trying where the input has one: edges of the types parsers use.
const NUMBERS: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    9,
    10,
    15,
    16,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    128,
    255,
    256,
    1023,
    1024,
    65535,
    65536,
    2147483647,
    2147483648,
    4294967295,
    4294967296,
    9223372036854775807,
    u64::MAX,
];

/// Replaces the first run of digits at or after `at` with another number: one of
/// [`NUMBERS`], a small one, or the same one and one.
fn number(rng: &mut Rng, data: &mut Vec<u8>, at: usize) {
    let Some(start) = data[at..]
        .iter()
        .position(u8::is_ascii_digit)
        .map(|p| p + at)
    else {
        return;
    };
    let len = data[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let old: u64 = std::str::from_utf8(&data[start..start + len])
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let new = match rng.below(3) {
        0 => NUMBERS[rng.below(NUMBERS.len())],
        1 => rng.below(100) as u64,
        _ => old.wrapping_add(1),
    };
    data.splice(start..start + len, new.to_string().into_bytes());
}

/// A token: the target's own (twice as likely) or a shared one.
fn token<'a>(rng: &mut Rng, tokens: &[&'a [u8]]) -> &'a [u8] {
    if !tokens.is_empty() && !rng.one_in(3) {
        tokens[rng.below(tokens.len())]
    } else {
        TOKENS[rng.below(TOKENS.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let pool = vec![b"[prod]\nport = 8000\n".to_vec(), b"A=1".to_vec()];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| mutate(&mut rng, &pool, 1, &[b"TERM"]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|input| input.len() <= MAX_LEN));
    }
}
