//! The model's label sets: BIO tags over the extraction entities, and the text classes.

use crate::extract::Entity;

/// Number of BIO labels: `O`, then `B-` and `I-` for each entity.
pub const NUM_TAGS: usize = 1 + 2 * Entity::ALL.len();

/// Text classes of the sequence head.
pub const CLASSES: [&str; 4] = ["low", "medium", "high", "not_a_loan"];

/// Index of the `not_a_loan` class.
pub const NOT_A_LOAN: usize = 3;

/// The tag index of `B-entity` (`I-entity` is one more).
pub fn begin_tag(entity: Entity) -> u32 {
    let index = Entity::ALL.iter().position(|e| *e == entity).unwrap_or(0);
    1 + 2 * index as u32
}

/// The entity a tag marks, and whether it begins a span.
pub fn tag_entity(tag: usize) -> Option<(Entity, bool)> {
    if tag == 0 || tag >= NUM_TAGS {
        return None;
    }
    Some((Entity::ALL[(tag - 1) / 2], (tag - 1).is_multiple_of(2)))
}

/// Tag names, for label maps written beside a model.
pub fn tag_names() -> Vec<String> {
    std::iter::once("O".to_owned())
        .chain(
            Entity::ALL
                .iter()
                .flat_map(|e| [format!("B-{}", e.name()), format!("I-{}", e.name())]),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        assert_eq!(tag_names().len(), NUM_TAGS);
        for entity in Entity::ALL {
            let b = begin_tag(entity) as usize;
            assert_eq!(tag_entity(b), Some((entity, true)));
            assert_eq!(tag_entity(b + 1), Some((entity, false)));
            assert_eq!(tag_names()[b], format!("B-{}", entity.name()));
        }
        assert_eq!(tag_entity(0), None);
    }
}
