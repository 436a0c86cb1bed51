from ninja import NinjaAPI

api = NinjaAPI(title="Tidings Open API", version="1", urls_namespace="api")
