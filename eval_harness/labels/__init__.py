"""The six COde benchmark classes, the anomaly→class map and labelling rules."""
