"""The HTTP front door: API Gateway (REST and HTTP APIs), Lambda function URLs and ALB targets.

:mod:`.request`, :mod:`.events` and :mod:`.responses` are the pure core: an HTTP request becomes
the event each service sends a function, and the function's result becomes the HTTP answer the
service gives its client. The routing and serving parts build on them.
"""
