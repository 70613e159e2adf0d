"""The dashboard's logic; dashboard/ holds the pages (UI only)."""
