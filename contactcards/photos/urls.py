from django.urls import path

from contactcards.photos import views

urlpatterns = [
    path("t/<slug:slug>/photos/", views.photo_library, name="photo_library"),
    path("t/<slug:slug>/photos/check/", views.photo_check, name="photo_check"),
    path("t/<slug:slug>/photos/<int:photo_id>/image.jpg", views.photo_image, name="photo_image"),
]
