"""Staff notes over the API: what a client posts, and how a note is shown."""

from __future__ import annotations

from rest_framework import serializers

from orders.api.order_serializers import StrictSerializer
from orders.models import NOTE_MAX_LENGTH, OrderNote


class NoteCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH, help_text="The note, up to 2,000 characters.")
    pinned = serializers.BooleanField(
        required=False, default=False, help_text="Pinned notes show on the order list's row."
    )


class NoteSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(read_only=True)  # annotated by the notes selectors
    author = serializers.CharField(source="author_name", read_only=True, help_text="The author's username.")
    editable_until = serializers.DateTimeField(
        read_only=True, help_text="Until then the author may edit or delete it on the order page; then permanent."
    )

    class Meta:
        model = OrderNote
        fields = ["id", "order_number", "text", "pinned", "author", "created_at", "edited_at", "editable_until"]
        read_only_fields = fields


class NoteListSerializer(serializers.Serializer):
    results = NoteSerializer(many=True, read_only=True)
