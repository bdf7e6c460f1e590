"""Podcast episodes: scripts with any number of speakers, their cast, captions and feed.

- `script`: a script or transcript (plus optional YAML front matter) -> `model.Episode`.
- `book`: an Episode -> a `narration.model.Book` of speaker turns, which the book planner
  plans as it is (every turn's speaker is known, so no attribution is run).
- `casting`: one distinct, stable voice per speaker, kept in a cast file per show.
- `hostlines`: the host's intro and outro lines, from overridable jinja2 templates.
- `feed`: show notes (Markdown, HTML) and an RSS 2.0 feed with the iTunes tags.
- `timing`: where each rendered segment lands in a chapter, for `narration.audio.captions`.
"""
