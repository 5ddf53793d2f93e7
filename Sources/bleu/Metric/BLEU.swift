// The sacreBLEU-compatible metric.
