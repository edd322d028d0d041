//! `hyperplug bench` end to end.
