"""Open311 GeoReport v2 (/open311/v2/): any Open311 client can report to the town and follow
its reports. Requests become ordinary cases (source "open311"); see docs/open311.md."""
