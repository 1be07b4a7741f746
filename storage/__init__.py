"""aiosqlite data layer: connection, versioned migrations, repositories."""
