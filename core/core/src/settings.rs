use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The settings of one strategy or objective: the keys of its table in a study file. They travel
/// as JSON (also across the plugin ABI), and each algorithm reads them into its own typed struct
/// with [`Settings::parse`], so unknown keys and wrong types are reported by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Settings(serde_json::Map<String, serde_json::Value>);

impl Settings {
    /// Settings from a JSON object.
    pub fn new(map: serde_json::Map<String, serde_json::Value>) -> Self {
        Settings(map)
    }

    /// Settings from JSON text, which must hold an object.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text)
            .map_err(|e| Error::Other(format!("settings are not a JSON object: {e}")))
    }

    /// The settings as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::Value::Object(self.0.clone()).to_string()
    }

    /// Sets `key` to `value`.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the settings into `T` (typically `#[serde(deny_unknown_fields)]` with defaults);
    /// `owner` names the strategy or objective in the error, and the message names the key.
    pub fn parse<T: DeserializeOwned>(&self, owner: &str) -> Result<T, Error> {
        let value = serde_json::Value::Object(self.0.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            match key.as_str() {
                "." | "" => Error::settings(owner, inner.to_string()),
                _ => Error::settings(owner, format!("`{key}`: {inner}")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct S {
        dim: usize,
        #[serde(default)]
        noise: f64,
    }

    #[test]
    fn errors_name_the_key() {
        let e = Settings::default()
            .with("dim", "ten")
            .parse::<S>("f")
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid settings for `f`: `dim`: invalid type"),
            "{e}"
        );
        let e = Settings::default()
            .with("dim", 2)
            .with("nois", 1.0)
            .parse::<S>("f")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown field `nois`, expected `dim` or `noise`"),
            "{e}"
        );
        assert_eq!(
            Settings::default()
                .with("dim", 3)
                .parse::<S>("f")
                .unwrap()
                .dim,
            3
        );
    }
}
