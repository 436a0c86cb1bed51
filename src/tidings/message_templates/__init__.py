"""WhatsApp message templates (SPEC S8): authored here, reviewed by Meta, sent through the message pipeline."""
