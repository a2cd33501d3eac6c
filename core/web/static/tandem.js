// Tandem back-office helpers (no inline scripts: the CSP forbids them).
