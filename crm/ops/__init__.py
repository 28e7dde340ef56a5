"""Operations: health check, backup and restore, start-up checks, request logs (issue 16)."""
