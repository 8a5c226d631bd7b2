"""The `numascope top` terminal UI (Textual). It consumes snapshots; it never touches the kernel."""
