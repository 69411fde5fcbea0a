from rest_framework.routers import SimpleRouter

from .views.abuse import AbuseReportViewSet
from .views.defences import EmailDomainBlockViewSet, NetworkBlockViewSet

router = SimpleRouter()
# An optional slash, like /api/operations/: `/api/users/alice/approve` and `.../approve/`.
router.trailing_slash = "/?"
router.register("network-blocks", NetworkBlockViewSet, basename="network-block")
router.register("email-domain-blocks", EmailDomainBlockViewSet, basename="email-domain-block")
router.register("abuse-reports", AbuseReportViewSet, basename="abuse-report")

urlpatterns = router.urls
