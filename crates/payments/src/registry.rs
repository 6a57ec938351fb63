//! The gateways a shop has configured, by ID, in the order they were added (the order shoppers
//! and cashiers see them in).

use std::sync::Arc;

use crate::{Channel, Gateway};

/// The configured gateways; cheap to clone.
#[derive(Clone, Default)]
pub struct Gateways {
    list: Vec<Arc<dyn Gateway>>,
}

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|g| g.id()))
            .finish()
    }
}

impl Gateways {
    /// No gateways.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a gateway; one with the same ID is replaced (keeping its place).
    pub fn add(&mut self, gateway: Arc<dyn Gateway>) {
        match self.list.iter_mut().find(|g| g.id() == gateway.id()) {
            Some(slot) => *slot = gateway,
            None => self.list.push(gateway),
        }
    }

    /// Builder form of [`Gateways::add`].
    pub fn with(mut self, gateway: Arc<dyn Gateway>) -> Self {
        self.add(gateway);
        self
    }

    /// The gateway with this ID.
    pub fn get(&self, id: &str) -> Option<Arc<dyn Gateway>> {
        self.list.iter().find(|g| g.id() == id).cloned()
    }

    /// The gateways offered on `channel`, in order.
    pub fn for_channel(&self, channel: Channel) -> Vec<Arc<dyn Gateway>> {
        self.list
            .iter()
            .filter(|g| g.channels().contains(&channel))
            .cloned()
            .collect()
    }

    /// Every gateway, in order.
    pub fn all(&self) -> &[Arc<dyn Gateway>] {
        &self.list
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CashGateway, ManualGateway};

    #[test]
    fn finds_by_id_and_channel_in_order() {
        let g = Gateways::new()
            .with(Arc::new(ManualGateway::new(
                "Pay to sort code 00-00-00".into(),
            )))
            .with(Arc::new(CashGateway::new()));
        assert_eq!(g.get("cash").map(|g| g.id()), Some("cash"));
        assert!(g.get("stripe").is_none());
        let web: Vec<_> = g.for_channel(Channel::Web).iter().map(|g| g.id()).collect();
        assert_eq!(web, ["manual"], "cash is POS only");
        let pos: Vec<_> = g.for_channel(Channel::Pos).iter().map(|g| g.id()).collect();
        assert_eq!(pos, ["manual", "cash"]);
        let g = g.with(Arc::new(
            ManualGateway::new(String::new()).with_label("Card terminal"),
        ));
        assert_eq!(g.all().len(), 2, "same id replaced");
        assert_eq!(g.all()[0].label(), "Card terminal", "keeps its place");
        assert_eq!(format!("{g:?}"), r#"["manual", "cash"]"#);
    }
}
