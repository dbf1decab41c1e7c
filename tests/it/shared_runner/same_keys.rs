//! Item 9: jobs on one COMPOSER_HOME, with the same keys or others, for the
//! same host or others, in any order, never undo each other: each host's
//! entry is always that of the newest job still active for it, and the last
//! one out leaves the file as it found it.

use serde_json::{Value, json};

use super::*;

/// An auth.json with another host's entry, as a user would have it.
const OTHER_HOST: &str = r#"{
    "http-basic": {
        "other.example": {
            "username": "someone",
            "password": "theirs"
        }
    }
}
"#;

fn magento_entry(world: &World) -> Value {
    json(&world.home_auth())["http-basic"]["repo.magento.com"].clone()
}

#[test]
fn two_jobs_with_the_same_keys_leave_each_other_their_entry() {
    for original in [Some(OTHER_HOST), None] {
        for a_first_out in [true, false] {
            let context = format!(
                "original: {}, first out: {}",
                original.is_some(),
                if a_first_out { "A" } else { "B" }
            );
            let world = World::new();
            if let Some(text) = original {
                write_mode(&world.home_auth(), text.as_bytes(), 0o644);
            }
            let (a, b) = (Job::canary("A"), Job::canary("B"));
            a.run(&world, "setup", &[]).ok();
            b.run(&world, "setup", &[]).ok();
            let (first, last) = if a_first_out { (&a, &b) } else { (&b, &a) };
            first.run(&world, "cleanup", &[]).ok();
            assert!(
                world.home_auth().exists(),
                "{context}: auth.json went while a job still uses it"
            );
            assert_eq!(
                magento_entry(&world),
                json!({"username": PUBLIC, "password": PRIVATE}),
                "{context}: the job still running lost its keys"
            );
            last.run(&world, "cleanup", &[]).ok();
            world.assert_home_auth_is(original, &context);
            assert_no_key_under(&world.root);
        }
    }
}

/// xorshift64*: a small PRNG, so that a failing interleaving can be
/// replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Originals the interleavings start from: none, one without http-basic,
/// one with another host's and a repo.magento.com entry (compact, 0640).
const ORIGINALS: [Option<&str>; 3] = [
    None,
    Some("{\n    \"github-oauth\": {\n        \"github.com\": \"tok\"\n    }\n}\n"),
    Some(
        r#"{"http-basic":{"other.example":{"username":"someone","password":"theirs"},"repo.magento.com":{"username":"old","password":"older"}},"bearer":{}}"#,
    ),
];

const HOSTS: [Option<&str>; 3] = [None, Some("h1.example"), Some("h2.example")];

/// What auth.json must hold while `active` (in order of setup) are set up:
/// the original with each host's entry from the newest active job for it,
/// and the original entry (or none) for a host without one.
fn expected(original: Option<&Value>, active: &[&Job]) -> Option<Value> {
    if active.is_empty() {
        return original.cloned();
    }
    let mut doc = original.cloned().unwrap_or_else(|| json!({}));
    let object = doc.as_object_mut().unwrap();
    let section = object
        .entry("http-basic")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .unwrap();
    for job in active {
        section.insert(job.host(), job.entry());
    }
    Some(doc)
}

/// One interleaving: `jobs` jobs with keys and hosts drawn from small pools
/// (so that the same keys and the same host meet often), each set up once
/// and cleaned up once, in a random order. Checks the file after each step.
fn interleave(seed: u64, jobs: usize, original: Option<&str>) {
    let mut rng = Rng(seed);
    let world = World::new();
    if let Some(text) = original {
        write_mode(&world.home_auth(), text.as_bytes(), 0o640);
    }
    let original_value: Option<Value> = original.map(|t| serde_json::from_str(t).unwrap());
    let all: Vec<Job> = (0..jobs)
        .map(|n| {
            let keys = rng.below(3);
            let job = if keys == 0 {
                Job::canary(&format!("job{n}"))
            } else {
                Job::numbered(&format!("job{n}"), keys)
            };
            match HOSTS[rng.below(HOSTS.len())] {
                Some(host) => job.on_host(host),
                None => job,
            }
        })
        .collect();
    // Each job's setup before its cleanup: draw among the jobs with a step left.
    let mut next_step = vec![0u8; jobs];
    let mut active: Vec<usize> = Vec::new();
    let mut steps = Vec::new();
    for _ in 0..2 * jobs {
        let open: Vec<usize> = (0..jobs).filter(|&n| next_step[n] < 2).collect();
        let n = open[rng.below(open.len())];
        let command = if next_step[n] == 0 {
            "setup"
        } else {
            "cleanup"
        };
        next_step[n] += 1;
        steps.push(format!("{} {command} ({})", all[n].id, all[n].host()));
        let out = all[n].run(&world, command, &[]);
        let context = || {
            format!(
                "seed {seed:#x}, {jobs} jobs, original {:?}, keys of each: {:?}\nsteps:\n  {}",
                original.map(|o| &o[..o.len().min(40)]),
                all.iter()
                    .map(|j| j.public[..13].to_string())
                    .collect::<Vec<_>>(),
                steps.join("\n  ")
            )
        };
        assert_eq!(out.code, 0, "{}\n{out:#?}", context());
        if command == "setup" {
            active.push(n);
        } else {
            active.retain(|&a| a != n);
        }
        let active_jobs: Vec<&Job> = active.iter().map(|&a| &all[a]).collect();
        let found = read_opt(&world.home_auth())
            .map(|bytes| serde_json::from_slice::<Value>(&bytes).unwrap());
        assert_eq!(
            found,
            expected(original_value.as_ref(), &active_jobs),
            "{}",
            context()
        );
        if let Some(Value::Object(doc)) = &found {
            let had_section = original_value
                .as_ref()
                .is_some_and(|o| o.get("http-basic").is_some());
            assert!(
                had_section || doc.get("http-basic") != Some(&json!({})),
                "an empty http-basic that was not there: {}",
                context()
            );
        }
    }
    assert_eq!(
        read_opt(&world.home_auth()),
        original.map(|t| t.as_bytes().to_vec()),
        "byte for byte after the last cleanup: seed {seed:#x}, steps:\n  {}",
        steps.join("\n  ")
    );
    if original.is_some() {
        assert_eq!(mode(&world.home_auth()), 0o640, "seed {seed:#x}");
    }
    assert_no_key_under(&world.root);
}

#[test]
fn random_interleavings_of_jobs_on_one_home() {
    let mut seeds = Rng(0x005e_ed0f_1a11_2026);
    for round in 0..200 {
        let seed = seeds.next() | 1;
        let jobs = 2 + round % 5;
        interleave(seed, jobs, ORIGINALS[round % ORIGINALS.len()]);
    }
}

#[test]
fn random_interleavings_of_sixteen_jobs_on_one_home() {
    let mut seeds = Rng(0x1616_1616_2026);
    for round in 0..6 {
        let seed = seeds.next() | 1;
        interleave(seed, 16, ORIGINALS[round % ORIGINALS.len()]);
    }
}

#[test]
fn eight_jobs_with_the_same_keys_at_once() {
    let world = std::sync::Arc::new(World::new());
    write_mode(&world.home_auth(), OTHER_HOST.as_bytes(), 0o644);
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let world = world.clone();
            std::thread::spawn(move || {
                let job = Job::canary(&format!("side-{n}"));
                for round in 0..10 {
                    for command in ["setup", "cleanup"] {
                        let out = job.run(&world, command, &[]);
                        assert_eq!(out.code, 0, "job {n}, round {round}, {command}: {out:#?}");
                    }
                }
            })
        })
        .collect();
    join_all(threads);
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        OTHER_HOST,
        "byte for byte after every job ended"
    );
    assert_eq!(mode(&world.home_auth()), 0o644);
    assert_no_key_under(&world.root);
}
