"""The account views, one module per flow: tokens, registration, password_reset (the API)
and pages (the server-rendered HTML pages). Every view calls one service."""
