//! Why required packages are not visible to the keys, case by case: a name
//! close to one the repository does list (a typo), an Adobe Commerce package
//! (`magento/*`: keys of a MAGEID without access), or another vendor's
//! (bought in Commerce Marketplace with another account, or not bought).
//!
//! The close names come from the lists the repository already sent for the
//! check: no request is made for them.

use super::classify::NOT_ENTITLED_HINT;
use super::packages::normalize;

/// At most this many edits (insert, delete, replace, swap two neighbours)
/// from a required name to a listed one, for "did you mean".
const MAX_EDITS: usize = 2;

/// The closest listed name to each required one, fed with every name the
/// repository lists as the check reads its files.
#[derive(Debug, Default)]
pub(crate) struct Near {
    /// Each required name, and the closest other name listed so far.
    best: Vec<(String, Option<(usize, String)>)>,
}

impl Near {
    pub(crate) fn new(names: &[String]) -> Self {
        Near {
            best: names.iter().map(|n| (n.clone(), None)).collect(),
        }
    }

    /// A name the repository lists.
    pub(crate) fn offer(&mut self, listed: &str) {
        for (name, best) in &mut self.best {
            // Cheap first: an edit changes the length by one at most.
            if name.len().abs_diff(listed.len()) > MAX_EDITS || name.as_str() == listed {
                continue;
            }
            let edits = strsim::osa_distance(name, listed);
            // Short names are not "close" to anything a couple of edits away.
            let close = edits <= MAX_EDITS && edits * 5 <= name.len();
            if close && best.as_ref().is_none_or(|(b, _)| edits < *b) {
                // Only a well-formed name is suggested: it is the server's text.
                if let Some(listed) = normalize(listed).filter(|l| l != name) {
                    *best = Some((edits, listed));
                }
            }
        }
    }

    /// The closest listed name to `name`, if one is close.
    pub(crate) fn best(&self, name: &str) -> Option<&str> {
        self.best
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, best)| best.as_ref())
            .map(|(_, listed)| listed.as_str())
    }
}

/// The hint for packages the keys cannot see: each case in its own words,
/// each naming its packages when there is more than one case.
pub(crate) fn hint(hidden: &[&str], near: &Near) -> String {
    let mut typos = Vec::new();
    let mut commerce = Vec::new();
    let mut vendors = Vec::new();
    for name in hidden {
        match near.best(name) {
            Some(listed) => typos.push(format!("{listed} (not {name})")),
            None if name.starts_with("magento/") => commerce.push(*name),
            None => vendors.push(*name),
        }
    }
    let cases = [!typos.is_empty(), !commerce.is_empty(), !vendors.is_empty()];
    let named = cases.iter().filter(|c| **c).count() > 1;
    let mut parts = Vec::new();
    if !typos.is_empty() {
        parts.push(format!(
            "did you mean {}? the repository lists that name to these keys: check the name in \
             composer.json or --require-package",
            typos.join(", ")
        ));
    }
    if !commerce.is_empty() {
        let prefix = if named {
            format!("{}: ", commerce.join(", "))
        } else {
            String::new()
        };
        parts.push(format!("{prefix}{NOT_ENTITLED_HINT}"));
    }
    if !vendors.is_empty() {
        let prefix = if named {
            format!("{}: ", vendors.join(", "))
        } else {
            String::new()
        };
        parts.push(format!(
            "{prefix}an extension of a third-party vendor is visible only to keys of the Commerce \
             Marketplace account that bought it: it was bought with another account (use that \
             account's keys, or buy it with this one), or not bought (check My Purchases in \
             Commerce Marketplace)"
        ));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(wanted: &[&str], listed: &[&str]) -> Near {
        let names: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        let mut near = Near::new(&names);
        for name in listed {
            near.offer(name);
        }
        near
    }

    #[test]
    fn close_names_are_suggested_far_and_hostile_ones_not() {
        const EE: &str = "magento/product-enterprise-edition";
        let found = near(
            &["magento/product-enterprise-editon", "a/b", "vendor/thing"],
            &[
                EE,
                "magento/product-enterprise-editi",
                "a/c",
                "vendor/th\u{1b}ng",
            ],
        );
        assert_eq!(found.best("magento/product-enterprise-editon"), Some(EE));
        assert_eq!(found.best("a/b"), None, "short names are never close");
        assert_eq!(found.best("vendor/thing"), None, "not a package name");
        // Two neighbours swapped count as one edit.
        let found = near(&["magento/prodcut-enterprise-edition"], &[EE]);
        assert_eq!(found.best("magento/prodcut-enterprise-edition"), Some(EE));
    }

    #[test]
    fn each_case_in_its_own_words() {
        let found = near(
            &["magento/product-enterprise-editon"],
            &["magento/product-enterprise-edition"],
        );
        let typo = hint(&["magento/product-enterprise-editon"], &found);
        assert!(typo.starts_with("did you mean magento/product-enterprise-edition"));
        assert!(!typo.contains("MAGEID"), "{typo}");
        let none = Near::default();
        assert_eq!(hint(&["magento/module-x"], &none), NOT_ENTITLED_HINT);
        let vendor = hint(&["amasty/module-x"], &none);
        assert!(vendor.contains("third-party") && !vendor.contains("MAGEID"));
        let both = hint(&["magento/module-x", "amasty/module-x"], &none);
        assert!(
            both.starts_with("magento/module-x: Adobe Commerce"),
            "{both}"
        );
        assert!(both.contains("; amasty/module-x: an extension"), "{both}");
    }
}
