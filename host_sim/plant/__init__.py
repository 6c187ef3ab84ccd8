"""Float plant models: engine, alternator with AVR, load, sensors."""
