"""Strava push subscriptions: receive (HTTP), queue, process, local worker, reconcile.

The request path (``receive``/``http``) only validates and enqueues; everything that
talks to Strava or the warehouse happens in ``process``, behind the same lease, token
and warehouse ports as polling.
"""
