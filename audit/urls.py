from rest_framework.routers import SimpleRouter

from .views import AuditEntryViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("audit", AuditEntryViewSet, basename="audit")

urlpatterns = router.urls
