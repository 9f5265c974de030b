//! How much one interaction says about a user's taste: the implicit-feedback weight shared by the
//! collaborative model, the per-user lists and the offline evaluation.

/// One user↔content interaction as `meta_user_content` (or a sandbox profile's meta) keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    pub rating: Option<i64>,
    pub views: i64,
    pub count: i64,
}

impl Interaction {
    /// Confidence that the user cares about the content. A rating, even a low one, says the user
    /// consumed it (and the collaborative model learns what is consumed together); higher ratings
    /// weigh more. Consumption without a rating counts like a middling rating; page views add a
    /// little, with diminishing returns.
    pub fn strength(&self) -> f32 {
        let mut strength = match self.rating {
            Some(rating) if rating > 0 => 0.5 + 0.25 * rating.clamp(1, 5) as f32,
            _ => 0.0,
        };
        if self.count > 0 {
            strength += if strength > 0.0 { 0.25 } else { 1.25 };
        }
        strength + 0.1 * (self.views.max(0) as f32).ln_1p()
    }

    /// Consumed (rated or counted): never recommended again.
    pub fn consumed(&self) -> bool {
        self.rating.is_some_and(|r| r > 0) || self.count > 0
    }

    /// Liked: rated 4 or 5, or consumed without a rating. Seeds "more like this".
    pub fn liked(&self) -> bool {
        match self.rating {
            Some(rating) if rating > 0 => rating >= 4,
            _ => self.count > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Interaction;

    fn rated(rating: i64) -> Interaction {
        Interaction {
            rating: Some(rating),
            views: 0,
            count: 0,
        }
    }

    #[test]
    fn higher_ratings_weigh_more_and_views_alone_are_weak() {
        assert!(rated(5).strength() > rated(3).strength());
        assert!(rated(3).strength() > rated(1).strength());
        let viewed = Interaction {
            rating: None,
            views: 3,
            count: 0,
        };
        assert!(viewed.strength() > 0.0 && viewed.strength() < rated(1).strength());
        assert!(!viewed.consumed() && !viewed.liked());
        assert!(rated(1).consumed() && !rated(1).liked() && rated(4).liked());
    }
}
