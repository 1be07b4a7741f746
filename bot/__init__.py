"""ProBonus Mailer: mailings of a restaurant loyalty programme, run from a Telegram bot."""
